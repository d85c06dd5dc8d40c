"""Video mode's tracks: the object list (from :class:`~anylabel.tracking.index.VideoIndex`, so it lists the
objects of the files, which keep their ids after Reset tracker), the labels dock counting instances, and
keyframe interpolation (:func:`anylabel.tracking.interpolate.interpolate_folder` on a worker, with progress
and cancel; the shown frame's change is one undo step; deleting a track's last shape on a frame marks it
"outside" there, :func:`anylabel.session.video.update_outside`, so interpolation leaves that frame empty).

:class:`VideoTracks` is mixed into :class:`anylabel.gui.video.panel.VideoPanel`; the attributes it reads are
declared below and set by the panel. Everything of the window is reached through the feature host.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from PyQt5 import QtCore

from anylabel.formats.labelme import load_labelme
from anylabel.gui.tasks import TaskWorker
from anylabel.gui.video.dock import VideoDock
from anylabel.gui.video.frames import VideoFrameFolder
from anylabel.gui.video.worker import TrackerWorker
from anylabel.session.video import SetShapes, update_outside
from anylabel.tracking.index import VideoIndex

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost
    from anylabel.tracking.interpolate import InterpolationReport
    from anylabel.tracking.track_votes import VoteReport

#: the object list is refilled at most this often while the tracker writes frames ...
REFRESH_MS = 250
#: ... and never takes more than 1/REFRESH_SHARE of the GUI thread: on a long video, where refilling costs
#: more, it is refilled less often (the tracker's thread shares the interpreter with it)
REFRESH_SHARE = 20


class VideoTracks:
    """The tracks of the open video (mixed into the panel)."""

    host: "FeatureHost"
    folder: Optional[VideoFrameFolder]
    worker: TrackerWorker
    dock_widget: VideoDock
    objects: Dict[int, str]
    current_obj: int
    index: VideoIndex
    jobs: TaskWorker  # reading the frame files, interpolation: the one worker idiom
    _refresh_timer: QtCore.QTimer
    _refresh_ms: float
    _shown_tracks: Tuple[Optional[int], Set[int]]
    _filling: bool

    @property
    def active(self) -> bool:
        raise NotImplementedError

    def _status(self, text: str) -> None:
        raise NotImplementedError

    def set_object(self, obj_id: int) -> None:
        raise NotImplementedError

    def goto(self, frame: int) -> None:
        raise NotImplementedError

    def _init_tracks(self, parent: QtCore.QObject) -> None:
        self.index = VideoIndex()
        self.jobs = TaskWorker("video-jobs", parent)
        self._refresh_timer = QtCore.QTimer(parent)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.show_objects)
        self._refresh_ms = 0.0  # what the last refill took
        self._shown_tracks: Tuple[Optional[int], Set[int]] = (None, set())  # the shown frame and its tracks
        self._filling = False  # interpolation is putting its result on the shown frame
        self.worker.on_written = lambda frame, ann: self.index.update(frame, ann)
        self.host.documents.on_shapes_changed(self._on_shapes_changed)
        d = self.dock_widget
        d.object_list.objectPicked.connect(self._pick_object)
        d.object_list.objectActivated.connect(self._show_object)
        d.interpolateRequested.connect(self.interpolate)
        d.voteRequested.connect(self.vote_labels)

    # ------------------------------------------------------------------------------ the index
    def _start_index(self) -> None:
        """A video was opened: read its frame files into a new index, on the worker."""
        folder = self.folder
        self.jobs.cancel("index")
        self.index = index = VideoIndex()
        self.worker.on_written = lambda frame, ann: index.update(frame, ann)
        if folder is None:
            return
        frames = [(i, folder.annotation_path(i)) for i in range(len(folder)) if folder.is_annotated(i)]
        self.show_objects()
        if not frames:
            return
        self._status(f"Reading the {len(frames)} annotated frame(s) for the object list…")
        self.jobs.submit(lambda ctx: index.read(frames, load_labelme, cancelled=lambda: ctx.cancelled,
                                                total=len(frames)),
                         kind="index", on_done=lambda n: self._index_read(index, n),
                         on_failed=lambda m: self.host.warn(f"The object list is incomplete: {m}", "Video"))

    def _index_read(self, index: VideoIndex, frames: int) -> None:
        if index is self.index:
            self._status(f"Object list: {len(index.track_ids())} track(s) on {frames} annotated frame(s)")
            self.show_objects()

    def _leave_tracks(self) -> None:
        """Video mode ended: background reading stops."""
        self.jobs.cancel("index")

    def _on_shapes_changed(self, kind: str) -> None:
        docs = self.host.documents
        ann = docs.annotation
        if not self.active or docs.row is None or ann is None:
            return
        if kind in ("do", "undo", "redo") and self._shown_tracks[0] == docs.row and not self._filling:
            # a person deleted a track's last shape here (or redid that): "outside" on this frame; an undo
            # that brings it back clears the mark (an undo that takes an addition back marks nothing)
            tracks = update_outside(ann, self._shown_tracks[1], mark=kind != "undo")
        else:  # a frame shown or reloaded: what it holds is the baseline
            tracks = {int(s.track_id) for s in ann.shapes if s.track_id is not None}
        self._shown_tracks = (docs.row, tracks)
        self.index.update(docs.row, ann)
        self.schedule_refresh()

    def schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start(max(REFRESH_MS, int(REFRESH_SHARE * self._refresh_ms)))

    def known_objects(self) -> Dict[int, str]:
        """Every object of the video: the tracks of its files, and those confirmed in the tracker since."""
        out = {row.track_id: row.label for row in self.index.tracks()}
        out.update({o: label for o, label in self.objects.items() if o not in out})
        return out

    def show_objects(self) -> None:
        """Refill the object list and the object chooser."""
        t0 = time.perf_counter()
        rows = self.index.tracks()
        extra = {o: label for o, label in self.objects.items() if o not in {r.track_id for r in rows}}
        d = self.dock_widget
        d.object_list.set_rows(rows, extra, self.current_obj)
        objects = {r.track_id: r.label for r in rows}
        objects.update(extra)
        d.set_objects(objects, self.current_obj)
        self._refresh_ms = (time.perf_counter() - t0) * 1000

    def _pick_object(self, track_id: int) -> None:
        """A click in the object list: the next clicks correct that object."""
        if self.host.prompting.has_prompts() and track_id != self.current_obj:
            self._status(f"Finish (F) or clear (B) the object being prompted to correct object {track_id}")
            self.dock_widget.object_list.select(self.current_obj)
            return
        self.set_object(track_id)
        self._status(f"Clicks now correct object {track_id}; Ctrl+Shift+J interpolates it")

    def _show_object(self, track_id: int) -> None:
        row = next((r for r in self.index.tracks() if r.track_id == track_id), None)
        if row is not None:
            self.goto(row.first)

    def _can_start_job(self) -> bool:
        """A video is open and no propagation, interpolation or vote runs (else the status bar says why)."""
        if not self.active or self.folder is None:
            self.host.status("Open a video first (Video → Open video or frame folder)", 4000)
            return False
        if self.worker.propagating or self.jobs.running_kind in ("interpolate", "vote"):
            self.host.status("Wait for the running propagation, interpolation or vote (Cancel stops it)", 3000)
            return False
        return True

    # ------------------------------------------------------------------------------ interpolation
    def interpolate(self) -> None:
        """Ctrl+Shift+J: fill the frames between keyframes of the selected track (the one the clicks are for,
        when it has frames), else of every track; the shown frame is saved first."""
        docs, d = self.host.documents, self.dock_widget
        if not self._can_start_job():
            return
        if docs.dirty and not docs.save():
            return
        self.index.update(docs.row, docs.annotation)
        track = d.object_list.selected_track()
        tracks: Optional[List[int]] = [track] if track is not None and track in self.index.track_ids() else None
        from anylabel.tracking.folder import TrackedFolder

        folder, index = self.folder, self.index
        tracked = TrackedFolder(folder.output_dir, folder.annotations)
        d.set_running(True, 1)
        what = f"track {track}" if tracks else "every track"
        self._status(f"Interpolating {what} between its keyframes…")

        def job(ctx) -> "InterpolationReport":  # noqa: ANN001 - the worker's JobContext
            from anylabel.tracking.interpolate import interpolate_folder

            report = interpolate_folder(tracked, tracks, progress=lambda n, total: ctx.progress(n, total),
                                        cancelled=lambda: ctx.cancelled)
            for f in report.frames_written:
                index.update(f, load_labelme(folder.annotation_path(f)))
            return report

        self.jobs.submit(job, kind="interpolate", on_done=lambda r: self._interpolated(r, what),
                         on_failed=self._interpolation_failed,
                         on_progress=lambda n, total, *_: self._interpolation_progress(n, total),
                         on_cancelled=lambda: self._interpolation_failed("cancelled"))

    def _show_written(self, frames: List[int], text: str) -> None:
        """The worker rewrote the files of ``frames``: the shown frame, when among them and not edited, shows
        what its file holds now as one undo step (Ctrl+Z takes it back on this frame)."""
        docs, folder = self.host.documents, self.folder
        row = docs.row
        if folder is None or not self.active or row is None or row not in frames or docs.dirty:
            return
        ann, _ = folder.load(row)  # what the file holds now (and its version, so saving it is not refused)
        self._filling = True  # not a person's deletion: interpolation may remove its stale shapes
        try:
            docs.push(SetShapes(ann.shapes, text))
        finally:
            self._filling = False
        docs.mark_saved()

    # ------------------------------------------------------------------------------ one label per track
    def vote_labels(self) -> None:
        """Video → Vote track labels: the SSA vote (the ``semantic`` setting) and CLIP (``clip_model``) over
        every frame of the selected track, else of every track, on the worker with progress and cancel; the
        object list then shows each track's one label, its confidence and the review flag. Labels are not
        changed (a person applies the decision: Ctrl+E on the shapes)."""
        host, docs, d = self.host, self.host.documents, self.dock_widget
        if not self._can_start_job():
            return
        cfg = host.config
        if not cfg.semantic and not cfg.clip_model:
            host.warn("Voting needs a semantic branch (SSA: the semantic setting) or a CLIP model (clip_model); "
                      "set one in the AI menu first.", "Track labels")
            return
        if docs.dirty and not docs.save():
            return
        track = d.object_list.selected_track()
        tracks: Optional[List[int]] = [track] if track is not None and track in self.index.track_ids() else None
        from anylabel.tracking.folder import TrackedFolder

        folder, index = self.folder, self.index
        tracked = TrackedFolder(folder.output_dir, folder.annotations)
        settings = (cfg.semantic, cfg.clip_model, cfg.clip_vocabulary, getattr(cfg, "device", None))
        what = f"track {track}" if tracks else "every track"
        d.set_running(True, 1)
        self._status(f"Voting for the label of {what} on its frames…")

        def job(ctx) -> "VoteReport":  # noqa: ANN001 - the worker's JobContext
            from anylabel.tracking.track_votes import labeler_from_settings, vote_tracks

            labeler = labeler_from_settings(*settings)
            try:
                report = vote_tracks(tracked, labeler, tracks, progress=lambda n, total: ctx.progress(n, total),
                                     cancelled=lambda: ctx.cancelled)
            finally:
                labeler.close()
            for f in report.frames_written:
                index.update(f, load_labelme(folder.annotation_path(f)))
            return report

        self.jobs.submit(job, kind="vote", on_done=lambda r: self._voted(r, what), on_failed=self._interpolation_failed,
                         on_progress=lambda n, total, *_: self._interpolation_progress(n, total),
                         on_cancelled=lambda: self._interpolation_failed("cancelled"))

    def _voted(self, report: "VoteReport", what: str) -> None:
        self.dock_widget.set_running(False)
        self._show_written(report.frames_written, f"vote the label of {what}")
        flagged = [r.track_id for r in self.index.tracks() if r.review]
        self._status(f"Voted for {what}{' (cancelled)' if report.cancelled else ''}: {report.votes} frame vote(s)"
                     + (f"; review: {', '.join(map(str, flagged))}" if flagged else ""))
        self.show_objects()

    def _interpolation_progress(self, done: int, total: int) -> None:
        bar = self.dock_widget.progress
        bar.setRange(0, max(1, total))
        bar.setValue(done)

    def _interpolation_failed(self, message: str) -> None:
        self.dock_widget.set_running(False)
        self._status(f"Stopped: {message}")
        if message != "cancelled":
            self.host.warn(message, "Video")

    def _interpolated(self, report: "InterpolationReport", what: str) -> None:
        docs, folder = self.host.documents, self.folder
        self.dock_widget.set_running(False)
        if folder is None:
            return
        for f in report.frames_written:
            folder.set_annotated(f, True)
            docs.refresh_row(f)
        self._show_written(report.frames_written, f"interpolate {what}")
        notes = report.skipped + report.kept
        cancelled = " (cancelled)" if report.cancelled else ""
        self._status(f"Interpolated {what}{cancelled}: {report.shapes} shape(s) on {len(report.frames_written)} "
                     f"frame(s)" + (f"; {len(notes)} note(s): {notes[0]}" if notes else ""))
        self.show_objects()
