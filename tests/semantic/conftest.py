"""Fixtures of the semantic tests: tiny random-weight YOLO-seg and SegFormer models, label maps."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def yolo_seg_model(tmp_path_factory) -> Path:
    """A random-weight YOLOv8n-seg built from ultralytics' own yaml and saved as an ultralytics .pt."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    torch = pytest.importorskip("torch")
    ultralytics = pytest.importorskip("ultralytics")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("yolo") / "yolov8n-seg-random.pt"
    ultralytics.YOLO("yolov8n-seg.yaml", task="segment").save(str(path))
    return path


@pytest.fixture(scope="session")
def segformer_dir(tmp_path_factory) -> Path:
    """A tiny random SegformerForSemanticSegmentation (+ its processor) saved with save_pretrained."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    names = ["sky", "road", "car", "person"]
    cfg = transformers.SegformerConfig(
        num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16], patch_sizes=[7, 3],
        strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2], decoder_hidden_size=16,
        num_labels=len(names), id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    folder = tmp_path_factory.mktemp("segformer")
    transformers.SegformerForSemanticSegmentation(cfg).save_pretrained(folder)
    transformers.SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder
