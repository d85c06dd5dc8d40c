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
    digest = spec.sha256 or spec.md5 or file_checksum(checkpoint, "sha256")
    return cache_root() / "onnx" / f"{spec.name}-{digest[:16]}-{EXPORT_VERSION}"


def export_sam_onnx(model: Any, out_dir: Path) -> Tuple[Path, Path]:
    """Export ``model``'s image encoder and prompt decoder to ``out_dir`` (atomic: temp folder + rename)."""
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
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        img = model.image_encoder.img_size
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's warnings concern shapes that are constant here
            torch.onnx.export(model.image_encoder, (torch.randn(1, 3, img, img),), str(tmp / ENCODER_FILE),
                              dynamo=False, opset_version=OPSET, do_constant_folding=True,
                              input_names=["image"], output_names=["image_embeddings"])
            decoder = LowResSamOnnxModel(model, return_single_mask=False, use_stability_score=False,
                                         return_extra_metrics=False)
            embed = model.prompt_encoder.embed_dim
            hw = model.prompt_encoder.image_embedding_size
            dummy = (torch.randn(1, embed, *hw), torch.randint(0, img, (1, 5, 2)).float(),
                     torch.randint(0, 4, (1, 5)).float(), torch.randn(1, 1, 4 * hw[0], 4 * hw[1]),
                     torch.tensor([1.0]))
            names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"]
            torch.onnx.export(decoder, dummy, str(tmp / DECODER_FILE), dynamo=False, opset_version=OPSET,
                              do_constant_folding=True, input_names=names,
                              output_names=["iou_predictions", "low_res_masks"],
                              dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}})
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
        import onnxruntime as ort
        from segment_anything.utils.transforms import ResizeLongestSide

        self.device, self.device_note = resolve_onnx_device(device)
        providers = providers_for(self.device, cache_dir=onnx_dir_for(spec, Path(checkpoint)) / "tensorrt")

        self.spec = spec
        self.checkpoint = Path(checkpoint)
        self.onnx_dir = onnx_dir_for(spec, self.checkpoint)
        enc, dec = self.onnx_dir / ENCODER_FILE, self.onnx_dir / DECODER_FILE
        self._torch_model: Any = None
        if not (enc.is_file() and dec.is_file()):
            self._torch_model = build_sam_model(spec.settings, self.checkpoint)
            enc, dec = export_sam_onnx(self._torch_model, self.onnx_dir)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        # Clicks: ORT's thread pool spins after each run by default, holding the cores the GUI and the
        # post-processing need next; and a multi-threaded run stalls whenever another task holds a core (see
        # anylabel.backends.cpu), so a single-threaded twin session answers clicks when not all cores are idle.
        click = ort.SessionOptions()
        click.log_severity_level = 3
        click.add_session_config_entry("session.intra_op.allow_spinning", "0")
        single = ort.SessionOptions()
        single.log_severity_level = 3
        single.intra_op_num_threads = 1
        try:
            self.encoder = ort.InferenceSession(str(enc), opts, providers=providers)
            self.decoder = ort.InferenceSession(str(dec), click, providers=providers)
            # the CPU's single-threaded twin; a GPU session has no CPU threads to share
            self._decoder_single = (ort.InferenceSession(str(dec), single, providers=providers)
                                    if self.device == "cpu" else self.decoder)
        except Exception as e:  # onnxruntime raises its own exception types for corrupt graphs
            raise ModelError(f"cannot load the ONNX export ({type(e).__name__}: {e}); delete the folder to "
                             "export again", self.onnx_dir) from e
        if fell_back_to_cpu(self.device, self.encoder):
            self.device, self.device_note = "cpu", (f"ONNX Runtime could not start its CUDA provider on "
                                                    f"{self.device} (CUDA / cuDNN libraries missing?)")
            warnings.warn(f"{spec.name}: {self.device_note}; running on the CPU", RuntimeWarning, stacklevel=2)
        self.device_note = self.device_note or runtime_note(self.encoder)  # the provider that really runs it
        img = self.encoder.get_inputs()[0].shape[-1]
        self.img_size = int(img) if isinstance(img, int) else 1024
        self.transform = ResizeLongestSide(self.img_size)
        # SAM's normalisation constants (segment_anything.modeling.Sam defaults)
        self.pixel_mean = np.array([123.675, 116.28, 103.53], dtype=np.float32)
        self.pixel_std = np.array([58.395, 57.12, 57.375], dtype=np.float32)
        self.everything_options = {**EVERYTHING_DEFAULTS, **spec.settings.get("everything", {})}

    def _encode(self, image: np.ndarray) -> Embedding:
        resized = self.transform.apply_image(image)  # segment-anything's own resize (longest side = 1024)
        h, w = resized.shape[:2]
        x = np.zeros((1, 3, self.img_size, self.img_size), dtype=np.float32)  # zero-pad bottom/right, like Sam
        x[0, :, :h, :w] = ((resized.astype(np.float32) - self.pixel_mean) / self.pixel_std).transpose(2, 0, 1)
        (features,) = self.encoder.run(None, {"image": x})
        return Embedding(orig_hw=tuple(image.shape[:2]), logit_hw=logit_frame((h, w), self.img_size),
                         features=features, pre_scale=4)

    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        pts = [np.asarray(coords, np.float64).reshape(-1, 2)]
        lab = [np.asarray(labels, np.float32).reshape(-1)]
        if box is not None:  # a box is two points labelled 2 (top-left) and 3 (bottom-right)
            pts.append(np.asarray(box, np.float64).reshape(2, 2))
            lab.append(np.array([2, 3], np.float32))
        else:  # SAM's prompt encoder pads with a "not a point" (-1) when there is no box
            pts.append(np.zeros((1, 2)))
            lab.append(np.array([-1], np.float32))
        c = self.transform.apply_coords(np.concatenate(pts), emb.orig_hw).astype(np.float32)
        has_mask = mask_logits is not None
        mask_in = (np.asarray(mask_logits, np.float32).reshape(1, 1, 256, 256) if has_mask
                   else np.zeros((1, 1, 256, 256), np.float32))
        inputs = {"point_coords": c[None], "point_labels": np.concatenate(lab)[None], "mask_input": mask_in,
                  "has_mask_input": np.array([1.0 if has_mask else 0.0], np.float32)}
        on_device = self.prepared(emb)
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
            scores, low_res = session.run(None, {"image_embeddings": emb.features, **inputs})
        # the graph returns all 4 mask tokens; SAM's decoder uses 1..3 for multimask, 0 for a single mask
        sl = slice(1, None) if multimask else slice(0, 1)
        return low_res[0, sl], scores[0, sl]

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
