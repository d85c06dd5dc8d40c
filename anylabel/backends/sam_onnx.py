"""SAM on ONNX Runtime: the encoder and the prompt decoder exported with ``torch.onnx``, cached as .onnx files
and run with the execution providers of the device (:mod:`anylabel.backends.onnx_providers`: TensorRT where
installed, CUDA, then the CPU; the CPU alone for ``cpu``).

Export happens once per checkpoint: the files go to ``<cache root>/onnx/<model name>-<checksum[:16]>-<export
version>/`` (the checksum of the verified checkpoint, so another file never reuses a stale export; exports of
older graph versions of the same checkpoint are deleted after a new export) and are written to a
temporary folder first, then renamed, so an interrupted export leaves nothing half-written.

The decoder graph is segment-anything's ``SamOnnxModel`` prompt embedding (its ``_embed_points`` and
``_embed_masks``) followed by the mask decoder evaluated in the cheaper order of
:mod:`anylabel.backends.fast_decoder` (same function, half the FLOPs), without ``SamOnnxModel``'s
full-resolution upsampling: the graph returns SAM's low-resolution logits, and the shared base upsamples them
on the mask's box only, exactly as for the torch adapter. Its outputs agree with torch's mask decoder to 1e-3
(tests/backends/test_upstream_agreement.py).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from anylabel.backends.auto_masks import sam_everything
from anylabel.backends.base import Progress
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.cpu import cores, idle_cores
from anylabel.backends.onnx_providers import fell_back_to_cpu, providers_for, resolve_onnx_device, runtime_note
from anylabel.backends.prompt import Box, MaskCandidate
from anylabel.backends.promptable import Embedding, PromptableSegmenter
from anylabel.backends.sam import build_sam_model, logit_frame
from anylabel.backends.torch_promptable import EVERYTHING_DEFAULTS
from anylabel.errors import ModelError
from anylabel.models import ModelSpec, cache_root, file_checksum

OPSET = 17
#: bumped whenever the exported graphs change, so that an export of an older version is not reused
EXPORT_VERSION = "v2"
ENCODER_FILE, DECODER_FILE = "encoder.onnx", "decoder.onnx"


def onnx_dir_for(spec: ModelSpec, checkpoint: Path) -> Path:
    """Where the exports of this checkpoint live (keyed by the checkpoint's checksum)."""
    return cache_root() / "onnx" / f"{spec.name}-{_digest(spec, checkpoint)[:16]}-{EXPORT_VERSION}"


def _digest(spec: ModelSpec, checkpoint: Path) -> str:
    return spec.sha256 or spec.md5 or file_checksum(checkpoint, "sha256")


def _complete(folder: Path) -> bool:
    return (folder / ENCODER_FILE).is_file() and (folder / DECODER_FILE).is_file()


def find_export(spec: ModelSpec, checkpoint: Path) -> Optional[Path]:
    """The folder of a finished export of this checkpoint, or None. Exports are keyed by the checkpoint's
    checksum: one written for another entry of the same file (``sam_vit_b`` and ``sam_vit_b_onnx``) is used."""
    own = onnx_dir_for(spec, checkpoint)
    if _complete(own):
        return own
    suffix = f"-{_digest(spec, checkpoint)[:16]}-{EXPORT_VERSION}"
    root = own.parent
    if root.is_dir():
        for other in sorted(root.iterdir()):
            if other.name.endswith(suffix) and not other.name.startswith(".") and _complete(other):
                return other
    return None


def export_graph(module: Any, args: Tuple[Any, ...], path: Path, input_names: List[str],
                 output_names: List[str], dynamic_axes: Optional[dict] = None) -> None:
    """``torch.onnx.export`` of ``module(*args)`` the way every graph of this module is exported (TorchScript
    tracer, opset :data:`OPSET`, constants folded); also used by :mod:`anylabel.backends.engine_probe`."""
    import torch

    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings concern shapes that are constant here
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                          input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)


def export_decoder(model: Any, path: Path) -> None:
    """Export ``model``'s (a segment-anything ``Sam``) prompt embedding + mask decoder to ``path``."""
    import torch
    from segment_anything.utils.onnx import SamOnnxModel

    from anylabel.backends.fast_decoder import FastMaskDecoder

    class LowResSamOnnxModel(SamOnnxModel):
        """SamOnnxModel's prompt embedding and the decoder, returning the low-res logits of every mask token
        (the full-size upsampling happens outside the graph)."""

        def forward(self, image_embeddings, point_coords, point_labels,  # type: ignore[override]
                    mask_input, has_mask_input):
            # SamOnnxModel.forward's prompt embedding, then the decoder's predict_masks evaluated in the
            # cheaper order of anylabel.backends.fast_decoder (same function: ~1.7 instead of ~3.6 GFLOP)
            sparse = self._embed_points(point_coords, point_labels)
            dense = self._embed_masks(mask_input, has_mask_input)
            low_res, scores = fast.decode_all(image_embeddings, sparse, dense)
            return scores, low_res

    with torch.no_grad():
        fast = FastMaskDecoder(model.mask_decoder, model.prompt_encoder)
    img = model.image_encoder.img_size
    decoder = LowResSamOnnxModel(model, return_single_mask=False, use_stability_score=False,
                                 return_extra_metrics=False)
    embed = model.prompt_encoder.embed_dim
    hw = model.prompt_encoder.image_embedding_size
    dummy = (torch.randn(1, embed, *hw), torch.randint(0, img, (1, 5, 2)).float(),
             torch.randint(0, 4, (1, 5)).float(), torch.randn(1, 1, 4 * hw[0], 4 * hw[1]), torch.tensor([1.0]))
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"]
    export_graph(decoder, dummy, path, names, ["iou_predictions", "low_res_masks"],
                 {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}})


def export_sam_onnx(model: Any, out_dir: Path) -> Tuple[Path, Path]:
    """Export ``model``'s image encoder and prompt decoder to ``out_dir`` (atomic: temp folder + rename)."""
    import torch

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        img = model.image_encoder.img_size
        export_graph(model.image_encoder, (torch.randn(1, 3, img, img),), tmp / ENCODER_FILE, ["image"],
                     ["image_embeddings"])
        export_decoder(model, tmp / DECODER_FILE)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
        base = out_dir.name.rsplit("-", 1)[0]  # <name>-<checksum>: older exports are <base> or <base>-v<n>
        for old in out_dir.parent.iterdir():
            if old != out_dir and old.is_dir() and (old.name == base or old.name.startswith(base + "-v")):
                shutil.rmtree(old, ignore_errors=True)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"ONNX export failed: {type(e).__name__}: {e}", out_dir) from e
    return out_dir / ENCODER_FILE, out_dir / DECODER_FILE


def session_options(role: str, threads: int = 0) -> Any:
    """ONNX Runtime options of a session: ``encoder`` (defaults), ``click`` (no spinning after a run) or
    ``single`` (one thread); ``threads`` > 0 sets the intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Clicks: ORT's thread pool spins after each run by default, holding the cores the GUI and the
    # post-processing need next; and a multi-threaded run stalls whenever another task holds a core (see
    # anylabel.backends.cpu), so a single-threaded twin session answers clicks when not all cores are idle.
    if role in ("click", "single"):
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if role == "single" or threads > 0:
        opts.intra_op_num_threads = 1 if role == "single" else threads
    return opts


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


class OnnxSam:
    """The ONNX Runtime sessions of one export: the image encoder and / or the click decoder, with SAM's
    preprocessing and prompt layout. Used by :class:`SamOnnxSegmenter` and, where the measured engine is
    ONNX Runtime, by the torch adapter (:class:`~anylabel.backends.sam.SamSegmenter`)."""

    def __init__(self, onnx_dir: Path, encoder: bool = True, decoder: bool = True,
                 providers: Tuple[Any, ...] = ("CPUExecutionProvider",), on_cpu: bool = True) -> None:
        import onnxruntime as ort

        self.onnx_dir = Path(onnx_dir)
        self.encoder = self.decoder = self._decoder_single = None
        try:
            if encoder:  # as many threads as torch's setting (both default to the physical cores)
                self.encoder = ort.InferenceSession(str(self.onnx_dir / ENCODER_FILE),
                                                    session_options("encoder", _torch_threads()),
                                                    providers=list(providers))
            if decoder:
                dec = str(self.onnx_dir / DECODER_FILE)
                self.decoder = ort.InferenceSession(dec, session_options("click"), providers=list(providers))
                # the CPU's single-threaded twin; a GPU session has no CPU threads to share
                self._decoder_single = (ort.InferenceSession(dec, session_options("single"),
                                                             providers=list(providers))
                                        if on_cpu else self.decoder)
        except Exception as e:  # onnxruntime raises its own exception types for corrupt graphs
            raise ModelError(f"cannot load the ONNX export ({type(e).__name__}: {e}); delete the folder to "
                             "export again", self.onnx_dir) from e
        img = self.encoder.get_inputs()[0].shape[-1] if self.encoder is not None else 1024
        self.img_size = int(img) if isinstance(img, int) else 1024
        # SAM's normalisation constants (segment_anything.modeling.Sam defaults)
        self.pixel_mean = np.array([123.675, 116.28, 103.53], dtype=np.float32)
        self.pixel_std = np.array([58.395, 57.12, 57.375], dtype=np.float32)

    def encode(self, image: np.ndarray, transform: Any) -> Tuple[np.ndarray, Tuple[int, int]]:
        """(1 x 256 x 64 x 64 float32 embedding, resized (h, w)) of an HxWx3 uint8 RGB image."""
        resized = transform.apply_image(image)  # segment-anything's own resize (longest side = 1024)
        h, w = resized.shape[:2]
        x = np.zeros((1, 3, self.img_size, self.img_size), dtype=np.float32)  # zero-pad bottom/right, like Sam
        x[0, :, :h, :w] = ((resized.astype(np.float32) - self.pixel_mean) / self.pixel_std).transpose(2, 0, 1)
        (features,) = self.encoder.run(None, {"image": x})
        return features, (h, w)

    def decode(self, features: np.ndarray, orig_hw: Tuple[int, int], transform: Any, coords: np.ndarray,
               labels: np.ndarray, box: Optional[Box], mask_logits: Optional[np.ndarray],
               multimask: bool, on_device: Any = None) -> Tuple[np.ndarray, np.ndarray]:
        """The decoder graph for one prompt set (see ``PromptableSegmenter._decode``); ``on_device``: the
        embedding as an ``OrtValue`` already on the GPU (then ``features`` is not copied again)."""
        pts = [np.asarray(coords, np.float64).reshape(-1, 2)]
        lab = [np.asarray(labels, np.float32).reshape(-1)]
        if box is not None:  # a box is two points labelled 2 (top-left) and 3 (bottom-right)
            pts.append(np.asarray(box, np.float64).reshape(2, 2))
            lab.append(np.array([2, 3], np.float32))
        else:  # SAM's prompt encoder pads with a "not a point" (-1) when there is no box
            pts.append(np.zeros((1, 2)))
            lab.append(np.array([-1], np.float32))
        c = transform.apply_coords(np.concatenate(pts), orig_hw).astype(np.float32)
        has_mask = mask_logits is not None
        mask_in = (np.asarray(mask_logits, np.float32).reshape(1, 1, 256, 256) if has_mask
                   else np.zeros((1, 1, 256, 256), np.float32))
        inputs = {"point_coords": c[None], "point_labels": np.concatenate(lab)[None], "mask_input": mask_in,
                  "has_mask_input": np.array([1.0 if has_mask else 0.0], np.float32)}
        if on_device is not None:  # a GPU: the embedding stays there; only the small outputs come back
            binding = self.decoder.io_binding()
            binding.bind_ortvalue_input("image_embeddings", on_device)
            for name, value in inputs.items():
                binding.bind_cpu_input(name, value)
            for out in self.decoder.get_outputs():
                binding.bind_output(out.name)
            self.decoder.run_with_iobinding(binding)
            scores, low_res = binding.copy_outputs_to_cpu()
        else:
            session = self.decoder if idle_cores() >= cores() else self._decoder_single
            scores, low_res = session.run(None, {"image_embeddings": np.ascontiguousarray(features, np.float32),
                                                 **inputs})
        # the graph returns all 4 mask tokens; SAM's decoder uses 1..3 for multimask, 0 for a single mask
        sl = slice(1, None) if multimask else slice(0, 1)
        return low_res[0, sl], scores[0, sl]


class SamOnnxSegmenter(PromptableSegmenter):
    """SAM run by ONNX Runtime (CPU, or CUDA / TensorRT providers). Prompts, cache and candidates as the torch
    adapter."""

    @classmethod
    def resolve_device(cls, requested: str) -> str:
        """ONNX Runtime's rules, not torch's: ``auto`` is CUDA when onnxruntime has its provider."""
        return resolve_onnx_device(requested)[0]

    def __init__(self, spec: ModelSpec, checkpoint: Path, cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu") -> None:
        super().__init__(spec.name, cache)
        from segment_anything.utils.transforms import ResizeLongestSide

        self.device, self.device_note = resolve_onnx_device(device)
        self.spec = spec
        self.checkpoint = Path(checkpoint)
        self._torch_model: Any = None
        found = find_export(spec, self.checkpoint)
        if found is None:
            self._torch_model = build_sam_model(spec.settings, self.checkpoint)
            found = onnx_dir_for(spec, self.checkpoint)
            export_sam_onnx(self._torch_model, found)
        self.onnx_dir = found
        providers = providers_for(self.device, cache_dir=found / "tensorrt")
        self.onnx = OnnxSam(found, providers=tuple(providers), on_cpu=self.device == "cpu")
        if fell_back_to_cpu(self.device, self.onnx.encoder):
            self.device, self.device_note = "cpu", (f"ONNX Runtime could not start its CUDA provider on "
                                                    f"{self.device} (CUDA / cuDNN libraries missing?)")
            warnings.warn(f"{spec.name}: {self.device_note}; running on the CPU", RuntimeWarning, stacklevel=2)
            self.onnx = OnnxSam(found, providers=("CPUExecutionProvider",))
        self.device_note = self.device_note or runtime_note(self.onnx.encoder)  # the provider that runs it
        self.img_size = self.onnx.img_size
        self.transform = ResizeLongestSide(self.img_size)
        self.everything_options = {**EVERYTHING_DEFAULTS, **spec.settings.get("everything", {})}

    def _encode(self, image: np.ndarray) -> Embedding:
        features, hw = self.onnx.encode(image, self.transform)
        return Embedding(orig_hw=tuple(image.shape[:2]), logit_hw=logit_frame(hw, self.img_size),
                         features=features, pre_scale=4)

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        return self.onnx.decode(emb.features, emb.orig_hw, self.transform, coords, labels, box, mask_logits,
                                multimask, on_device=self.prepared(emb))

    def _prepare(self, emb: Embedding) -> Any:
        """On a GPU, the image's embedding copied there once (an ``OrtValue``), not with every click; None on
        the CPU. The cache keeps the host copy the encoder returned."""
        if not self.device.startswith("cuda"):
            return None
        import onnxruntime as ort

        index = int(self.device.split(":")[1]) if ":" in self.device else 0
        return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(emb.features), "cuda", index)

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """Automatic masks through segment-anything's generator, which needs the torch model for its decoder;
        the image embedding is this adapter's cached ONNX one (same network: agrees with torch to 1e-3)."""
        image, emb = self.everything_input(image, key)
        if self._torch_model is None or str(self._torch_model.device) != self._torch_device():
            self._torch_model = build_sam_model(self.spec.settings, self.checkpoint).to(self._torch_device())
        return sam_everything(self._torch_model, image, self.everything_options, emb.features, progress=progress)

    def _torch_device(self) -> str:
        """Where everything()'s torch decoder runs: this adapter's GPU when torch can use it too, else the CPU."""
        from anylabel.devices import available_devices

        return self.device if self.device in available_devices() else "cpu"
