#!/usr/bin/env python
"""Write random-weight checkpoints in the official file formats, plus a models file pointing at them.

Pretrained weights cannot be downloaded on CI, yet every loader must be exercised exactly as a user's
download exercises it. This tool builds the *real upstream classes* with random weights and saves them the
way the upstream projects publish their checkpoints:

* SAM (segment-anything): a plain ``state_dict`` of ``Sam`` in a ``.pth`` file.
* MobileSAM (mobile_sam) and SAM-HQ (segment_anything_hq): a plain ``state_dict`` of the package's ``Sam``
  (TinyViT encoder / ``MaskDecoderHQ``), as ``mobile_sam.pt`` and ``sam_hq_vit_*.pth`` are.
* SAM2.1 (sam2): ``{"model": state_dict}`` in a ``.pt`` file, with a hydra config.
* FastSAM (ultralytics): ultralytics' own checkpoint dict (``{"model": SegmentationModel (fp16), ...}``)
  of a YOLOv8-seg model with one class, in a ``.pt`` file.
* CLIP (open_clip): an open_clip ``state_dict`` in a ``.bin`` file (the format of open_clip's hub weights).
* SAM 3 (sam3, only with ``--only sam3``): the ``state_dict`` of sam3's video model (``detector.*`` and
  ``tracker.*``, the layout of the gated ``sam3.pt``), always full size (3.4 GB: sam3's builder has no smaller
  variant), built on the CPU through ``anylabel.backends.sam3_device``.

By default the models are *small* (shallow, narrow encoders; same classes, same file formats) so tests run
in seconds; ``--full`` writes the real sizes of SAM vit_b, MobileSAM, SAM-HQ vit_b, SAM2.1 hiera tiny, FastSAM-s and
CLIP ViT-B/32.
Architectures that differ from the official ones are described in each entry's ``settings`` (SAM, SAM-HQ,
MobileSAM: ``encoder``; SAM2: ``config``, a hydra yaml written next to the checkpoint; FastSAM: none, the checkpoint
carries its own yaml, but ``conf`` / ``iou`` / ``max_det`` keep every detection because random weights score all
of them near 0;
CLIP: ``model_config``), so the adapters build them through the registry exactly as
they build a downloaded model.

Usage::

    python tools/random_checkpoints.py --out /tmp/rand [--full] [--only sam,sam2]
    ANYLABEL_MODELS=/tmp/rand/models.yaml anylabel segment IMG --model sam_vit_b --point 10,10 ...
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import yaml

#: SAM encoder of the small models: same ImageEncoderViT class, 2 blocks of width 64.
SMALL_SAM_ENCODER = {"embed_dim": 64, "depth": 2, "num_heads": 2, "global_attn_indexes": [1]}
FULL_SAM = {"vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12, "global_attn_indexes": [2, 5, 8, 11]},
            "vit_l": {"embed_dim": 1024, "depth": 24, "num_heads": 16, "global_attn_indexes": [5, 11, 17, 23]},
            "vit_h": {"embed_dim": 1280, "depth": 32, "num_heads": 16, "global_attn_indexes": [7, 15, 23, 31]}}
#: MobileSAM's TinyViT of the small models: every keyword of ``mobile_sam.modeling.TinyViT`` (the adapter builds
#: ``TinyViT(**settings.encoder)``), 4 one-block stages of widths 16, 32, 32, 320 instead of build_sam_vit_t's
#: 64-320 with 12 blocks (the last width must stay 320: its PatchMerging keeps the resolution only for 320).
SMALL_TINY_VIT = {"img_size": 1024, "in_chans": 3, "num_classes": 1000, "embed_dims": [16, 32, 32, 320],
                  "depths": [1, 1, 1, 1], "num_heads": [1, 1, 1, 5], "window_sizes": [7, 7, 14, 7], "mlp_ratio": 4.0,
                  "drop_rate": 0.0, "drop_path_rate": 0.0, "use_checkpoint": False, "mbconv_expand_ratio": 4.0,
                  "local_conv_size": 3, "layer_lr_decay": 0.8}
SAM2_CONFIGS = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(name: str, family: str, display: str, path: Path, settings: dict) -> dict:
    return {
        "name": name,
        "family": family,
        "display_name": display,
        "path": str(path.resolve()),
        "filename": path.name,
        "sha256": sha256_of(path),
        "size": path.stat().st_size,
        "settings": settings,
    }


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


# ---------------------------------------------------------------- SAM
def write_sam(out_dir: Path, full: bool = False, variants: Optional[Sequence[str]] = None) -> List[dict]:
    """SAM ``state_dict`` checkpoints for sam_vit_b/l/h (+ the ``_onnx`` runtime twins).

    Small: one shared small encoder per name. Full: only vit_b unless ``variants`` names more (vit_l / vit_h
    are 1.2 / 2.5 GB; benchmarks/gpu.py writes them).
    """
    import torch
    from segment_anything.build_sam import _build_sam

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    variants = list(variants or (["vit_b"] if full else ["vit_b", "vit_l", "vit_h"]))
    for i, variant in enumerate(variants):
        enc = FULL_SAM[variant] if full else SMALL_SAM_ENCODER
        _seed(100 + i)
        model = _build_sam(
            encoder_embed_dim=enc["embed_dim"],
            encoder_depth=enc["depth"],
            encoder_num_heads=enc["num_heads"],
            encoder_global_attn_indexes=enc["global_attn_indexes"],
        )
        path = out_dir / f"sam_{variant}_random{'' if full else '_small'}.pth"
        torch.save(model.state_dict(), path)
        settings = {"model_type": variant}
        if not full:
            settings["encoder"] = dict(enc)
        entries.append(_entry(f"sam_{variant}", "sam", f"SAM {variant} (random)", path, settings))
        onnx_settings = dict(settings, runtime="onnx")
        entries.append(_entry(f"sam_{variant}_onnx", "sam", f"SAM {variant} ONNX (random)", path, onnx_settings))
    return entries


def write_mobile_sam(out_dir: Path, full: bool = False) -> List[dict]:
    """A MobileSAM ``state_dict`` (``mobile_sam.pt``'s format): build_sam_vit_t (full) or a small TinyViT."""
    import torch

    from anylabel.backends.sam import import_upstream

    import_upstream("mobile_sam")  # first import without timm's registry warnings
    from mobile_sam import build_sam_vit_t
    from mobile_sam.modeling import TinyViT

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _seed(150)
    model = build_sam_vit_t()
    settings: Dict[str, object] = {"model_type": "vit_t"}
    if not full:
        model.image_encoder = TinyViT(**SMALL_TINY_VIT)
        settings["encoder"] = copy.deepcopy(SMALL_TINY_VIT)
    path = out_dir / f"mobile_sam_random{'' if full else '_small'}.pt"
    torch.save(model.state_dict(), path)
    return [_entry("mobile_sam", "mobile_sam", "MobileSAM (random)", path, settings)]


def write_sam_hq(out_dir: Path, full: bool = False, variants: Optional[Sequence[str]] = None) -> List[dict]:
    """SAM-HQ ``state_dict`` checkpoints (``sam_hq_vit_*.pth``'s format): vit_b (full; ``variants`` for more) or
    all three (small)."""
    import torch

    from anylabel.backends.sam import import_upstream

    import_upstream("segment_anything_hq")  # first import without timm's registry warnings
    from segment_anything_hq.build_sam import _build_sam

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, variant in enumerate(variants or (["vit_b"] if full else ["vit_b", "vit_l", "vit_h"])):
        enc = FULL_SAM[variant] if full else SMALL_SAM_ENCODER
        _seed(160 + i)
        model = _build_sam(encoder_embed_dim=enc["embed_dim"], encoder_depth=enc["depth"],
                           encoder_num_heads=enc["num_heads"], encoder_global_attn_indexes=enc["global_attn_indexes"])
        path = out_dir / f"sam_hq_{variant}_random{'' if full else '_small'}.pth"
        torch.save(model.state_dict(), path)
        settings: Dict[str, object] = {"model_type": variant}
        if not full:
            settings["encoder"] = dict(enc)
        entries.append(_entry(f"sam_hq_{variant}", "sam_hq", f"SAM-HQ {variant} (random)", path, settings))
    return entries


# ---------------------------------------------------------------- SAM2
def small_sam2_config() -> dict:
    """The sam2.1 hiera-tiny hydra config shrunk: a 4-block, 32-wide Hiera and a 1-layer memory attention.

    Everything else (heads, memory encoder, image size 1024, feature sizes) stays as upstream so both the
    image predictor and the video predictor build and run from it.
    """
    import sam2
    from omegaconf import OmegaConf

    base = Path(sam2.__file__).parent / SAM2_CONFIGS["tiny"]
    cfg = OmegaConf.to_container(OmegaConf.load(base), resolve=False)
    model = cfg["model"]
    trunk = model["image_encoder"]["trunk"]
    e = 32
    trunk.update({"embed_dim": e, "num_heads": 1, "stages": [1, 1, 2, 1], "global_att_blocks": [3]})
    model["image_encoder"]["neck"]["backbone_channel_list"] = [8 * e, 4 * e, 2 * e, e]
    mem = model["memory_attention"]
    mem["num_layers"] = 1
    mem["layer"]["dim_feedforward"] = 256
    model["memory_encoder"]["fuser"]["num_layers"] = 1
    return cfg


def write_sam2(out_dir: Path, full: bool = False) -> List[dict]:
    """SAM2.1 ``{"model": state_dict}`` checkpoints: hiera tiny (full) or all four names (small).

    Small checkpoints come with ``sam2.1_hiera_random_small.yaml`` (a complete hydra config, absolute path in
    ``settings.config``); full ones use sam2's packaged config name, as the official download does.
    """
    import sam2
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    variants = ["tiny"] if full else list(SAM2_CONFIGS)
    if full:
        cfg = OmegaConf.load(Path(sam2.__file__).parent / SAM2_CONFIGS["tiny"])
        config_ref = SAM2_CONFIGS["tiny"]
    else:
        small = small_sam2_config()
        cfg_path = out_dir / "sam2.1_hiera_random_small.yaml"
        cfg_path.write_text("# @package _global_\n" + yaml.safe_dump(small, sort_keys=False), encoding="utf-8")
        cfg = OmegaConf.create(small)
        config_ref = str(cfg_path.resolve())
    for i, variant in enumerate(variants):
        _seed(200 + i)
        model = instantiate(copy.deepcopy(cfg).model, _recursive_=True)
        path = out_dir / f"sam2.1_hiera_{variant}_random{'' if full else '_small'}.pt"
        torch.save({"model": model.state_dict()}, path)
        entries.append(_entry(f"sam2.1_hiera_{variant}", "sam2", f"SAM2.1 hiera {variant} (random)", path,
                              {"config": config_ref}))
    return entries


# ---------------------------------------------------------------- FastSAM
def write_fastsam(out_dir: Path, full: bool = False) -> List[dict]:
    """ultralytics checkpoints of FastSAM-s / FastSAM-x: YOLOv8-seg with one class, saved like a trained model.

    Full: FastSAM-s's architecture (yolov8s-seg, nc=1). Small: yolov8n-seg scaled to width 0.125.
    """
    import torch
    from ultralytics import __version__ as ul_version
    from ultralytics.nn.tasks import SegmentationModel, yaml_model_load
    from ultralytics.utils import DEFAULT_CFG_DICT

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = yaml_model_load("yolov8-seg.yaml")
    entries = []
    variants = {"s": "s"} if full else {"s": "tiny", "x": "tiny"}
    for i, (variant, scale) in enumerate(variants.items()):
        _seed(300 + i)
        cfg = copy.deepcopy(base)
        cfg["nc"] = 1
        if scale == "tiny":
            cfg["scales"] = {"tiny": [0.33, 0.125, 1024]}
        cfg["scale"] = scale
        cfg.pop("yaml_file", None)
        model = SegmentationModel(cfg, ch=3, nc=1, verbose=False)
        model.names = {0: "object"}
        model.args = {"task": "segment", "imgsz": 1024, "model": f"FastSAM-{variant}.pt"}
        model.half().eval()
        for p in model.parameters():
            p.requires_grad = False
        ckpt = {
            "date": None,
            "version": ul_version,
            "license": "AGPL-3.0 License (https://ultralytics.com/license)",
            "docs": "https://docs.ultralytics.com",
            "epoch": -1,
            "best_fitness": None,
            "model": model,
            "ema": None,
            "updates": None,
            "optimizer": None,
            # ultralytics reads the task from train_args when it rebuilds the model's args
            "train_args": {**{k: v for k, v in DEFAULT_CFG_DICT.items() if k in ("single_cls", "overlap_mask")},
                           "task": "segment", "imgsz": 1024, "model": f"FastSAM-{variant}.pt"},
        }
        path = out_dir / f"FastSAM-{variant}_random{'' if full else '_small'}.pt"
        torch.save(ckpt, path)
        # random weights give near-constant, near-zero confidences and boxes partly outside the image (their
        # masks come out empty and ultralytics drops them): keep every detection so that some masks exist
        entries.append(_entry(f"fastsam_{variant}", "fastsam", f"FastSAM-{variant} (random)", path,
                              {"conf": 0.0, "iou": 0.7, "max_det": 300}))
    return entries


# ---------------------------------------------------------------- CLIP
SMALL_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def write_clip(out_dir: Path, full: bool = False) -> List[dict]:
    """open_clip ``state_dict`` checkpoints for clip_vit_b32 / clip_vit_l14.

    Full: ViT-B-32 (open_clip's architecture name in ``settings.model_name``). Small: a 2-layer, 64-wide
    ViT described by ``settings.model_config`` (an open_clip model config dict) under the same names.
    """
    import open_clip
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    variants = {"clip_vit_b32": "ViT-B-32"} if full else {"clip_vit_b32": "ViT-B-32", "clip_vit_l14": "ViT-L-14"}
    for i, (name, arch) in enumerate(variants.items()):
        _seed(400 + i)
        settings: Dict[str, object] = {"model_name": arch}
        if full:
            model = open_clip.create_model(arch, pretrained=None)
        else:
            from open_clip.model import CLIP

            model = CLIP(**copy.deepcopy(SMALL_CLIP_CONFIG))
            settings["model_config"] = copy.deepcopy(SMALL_CLIP_CONFIG)
        path = out_dir / f"{name}_random{'' if full else '_small'}.bin"
        torch.save(model.state_dict(), path)
        entries.append(_entry(name, "clip", f"CLIP {arch} (random)", path, settings))
    return entries


# ---------------------------------------------------------------- SAM 3
def write_sam3(out_dir: Path, full: bool = True) -> List[dict]:
    """``sam3.pt``'s format: the ``state_dict`` of ``build_sam3_video_model`` (its ``detector.`` / ``tracker.``
    names, which the image model's loader reads too); full size whatever ``full`` says."""
    import torch
    from sam3.model_builder import build_sam3_video_model

    from anylabel.backends.sam3 import bpe_path
    from anylabel.backends.sam3_device import on_device

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _seed(500)
    with on_device("cpu"):
        model = build_sam3_video_model(checkpoint_path=None, load_from_HF=False, bpe_path=bpe_path({}), device="cpu")
    # sam3's text encoder makes these two with torch.empty and never initialises them (the checkpoint does):
    # as open_clip initialises its own (normal, std 0.01 and width ** -0.5), else the text path computes NaN
    for name, param in model.named_parameters():
        if name.endswith("language_backbone.encoder.positional_embedding"):
            torch.nn.init.normal_(param, std=0.01)
        elif name.endswith("language_backbone.encoder.text_projection"):
            torch.nn.init.normal_(param, std=param.shape[0] ** -0.5)
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise RuntimeError(f"sam3's builder left weights uninitialised: {bad[:5]}")
    path = out_dir / "sam3_random.pt"
    torch.save(model.state_dict(), path)
    del model
    # random weights score every query near 0: a negative threshold keeps them all, so text prompts find instances
    settings = {"confidence_threshold": -1.0, "everything_text": "object"}
    return [_entry("sam3", "sam3", "SAM 3 (random)", path, settings)]


WRITERS: Dict[str, Callable[..., List[dict]]] = {
    "sam": write_sam,
    "mobile_sam": write_mobile_sam,
    "sam_hq": write_sam_hq,
    "sam2": write_sam2,
    "fastsam": write_fastsam,
    "clip": write_clip,
    "sam3": write_sam3,
}
#: written only when asked for by name (``--only sam3``): 3.4 GB, and the sam3 package is optional
OPT_IN = ("sam3",)


def write_all(out_dir: Path, full: bool = False, only: Optional[Iterable[str]] = None) -> Path:
    """Write the checkpoints of every family (or those in ``only``) and ``out_dir/models.yaml``.

    Returns the path of the models file. Its entries use the registry names (``sam_vit_b``,
    ``sam2.1_hiera_tiny``, ``fastsam_s``, ``clip_vit_b32``, ...) with ``path`` and ``sha256``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    families = list(only) if only else [f for f in WRITERS if f not in OPT_IN]
    unknown = [f for f in families if f not in WRITERS]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {sorted(WRITERS)}")
    entries: List[dict] = []
    for family in families:
        entries.extend(WRITERS[family](out_dir, full=full))
    models_file = out_dir / "models.yaml"
    tmp = models_file.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump({"models": entries}, sort_keys=False), encoding="utf-8")
    tmp.replace(models_file)
    return models_file


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--full", action="store_true", help="real sizes (vit_b, hiera tiny, FastSAM-s, ViT-B/32)")
    parser.add_argument("--only", help=f"comma-separated families among {','.join(WRITERS)}")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    path = write_all(args.out, full=args.full, only=only)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for e in data["models"]:
        print(f"{e['name']:22s} {e['size'] / 1e6:9.1f} MB  {e['path']}")
    print(f"models file: {path}")
    print(json.dumps({"ANYLABEL_MODELS": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
