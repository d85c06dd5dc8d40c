"""Frame sources: lazy decoding, random access equal to sequential reading, bounded cache, typed errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from anylabel.errors import ImageLoadError
from anylabel.imaging import load_image
from anylabel.imaging.video import FrameFolder, VideoFile, open_frames


def test_frame_folder_is_lazy_natural_ordered_and_cached(frames_dir: Path, tmp_path: Path) -> None:
    src = open_frames(frames_dir, cache_size=3)
    assert isinstance(src, FrameFolder)
    assert len(src) == 8 and src.size == (540, 960) and src.fps is None
    assert src.decoded == 0  # opening reads only the first header
    f5 = src[5]
    assert f5.shape == (540, 960, 3) and f5.dtype == np.uint8
    assert np.array_equal(f5, load_image(frames_dir / "00005.jpg"))
    assert src.frame_name(5) == "00005" and src.frame_file(5) == frames_dir / "00005.jpg"
    for i in (0, 1, 2, 3, 1):
        src[i]
    assert src.decoded == 5  # the second read of frame 1 was a cache hit
    assert src.cached_indices() == [2, 3, 1]  # LRU order, bounded by cache_size
    assert np.array_equal(src[-1], src[7])
    with pytest.raises(IndexError):
        src[8]
    # natural order: 2.png before 10.png
    nat = tmp_path / "nat"
    nat.mkdir()
    for n in (10, 2, 1):
        cv2.imwrite(str(nat / f"{n}.png"), np.full((4, 6, 3), n, np.uint8))
    folder = open_frames(nat)
    assert [folder.frame_name(i) for i in range(3)] == ["1", "2", "10"]
    assert folder[2][0, 0, 0] == 10


def test_video_file_random_access_equals_sequential(sam2_demo_dir: Path) -> None:
    path = sam2_demo_dir / "bedroom.mp4"
    if not path.exists():
        pytest.skip("bedroom.mp4 not available")
    video = open_frames(path, cache_size=0)
    assert isinstance(video, VideoFile)
    assert len(video) == 200 and video.size == (540, 960) and video.fps == pytest.approx(30.0)
    sequential = [video[i].copy() for i in range(40)]
    for i in (33, 2, 17, 39, 0, 25, 26, 5):  # backwards seeks, short forward jumps, repeats
        assert np.array_equal(video[i], sequential[i]), f"frame {i} differs when read out of order"
    assert video.frame_name(7) == "bedroom_000007" and video.frame_file(7) is None
    # the mp4 is the same video as the JPEG frames (lossy codecs: close, not equal)
    jpg = load_image(sam2_demo_dir / "bedroom" / "00003.jpg").astype(np.int16)
    assert np.abs(sequential[3].astype(np.int16) - jpg).mean() < 6
    video.close()


def test_video_written_by_opencv_roundtrips(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    for i in range(30):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, : 2 * i + 2] = (0, 0, 255)  # red bar in BGR, growing with the frame index
        writer.write(frame)
    writer.release()
    video = open_frames(path, cache_size=2)
    assert len(video) == 30 and video.fps == pytest.approx(12.0) and video.size == (48, 64)
    for i in (0, 29, 10, 11, 3):
        img = video[i]
        red = img[24, :, 0] > 128
        assert img[24, 0, 2] < 80, "frames must be RGB, not BGR"
        assert abs(int(red.sum()) - (2 * i + 2)) <= 1
    assert len(video.cached_indices()) == 2


def test_bad_inputs_raise_image_load_error(tmp_path: Path, frames_dir: Path) -> None:
    with pytest.raises(ImageLoadError, match="no such video file or frame folder"):
        open_frames(tmp_path / "missing.mp4")
    bogus = tmp_path / "corrupt.mp4"
    bogus.write_bytes(b"this is not a video" * 100)
    with pytest.raises(ImageLoadError) as e:
        open_frames(bogus)
    assert e.value.path == bogus
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ImageLoadError, match="not a video"):
        open_frames(text)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageLoadError, match="no image frames"):
        open_frames(empty)
    # a frame of another size, and a corrupt frame, fail when they are read (naming the file)
    mixed = tmp_path / "mixed"
    shutil.copytree(frames_dir, mixed)
    cv2.imwrite(str(mixed / "00002.jpg"), np.zeros((10, 10, 3), np.uint8))
    (mixed / "00003.jpg").write_bytes(b"\xff\xd8broken")
    src = open_frames(mixed)
    assert src[1].shape == (540, 960, 3)
    with pytest.raises(ImageLoadError, match="every frame of a video must have one size") as e:
        src[2]
    assert e.value.path == mixed / "00002.jpg"
    with pytest.raises(ImageLoadError) as e:
        src[3]
    assert e.value.path == mixed / "00003.jpg"
