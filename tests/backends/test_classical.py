"""The classical backend on real objects (labelme's VOC example) and its everything mode."""
from __future__ import annotations

import numpy as np
from PIL import Image

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
from anylabel.geometry import mask_iou
from anylabel.imaging import load_image


def _objects(voc_dir):
    for png in sorted((voc_dir / "data_dataset_voc" / "SegmentationObject").glob("*.png")):
        ids = np.asarray(Image.open(png))
        image = voc_dir / "data_annotated" / f"{png.stem}.jpg"
        for i in np.unique(ids):
            if i not in (0, 255):
                yield image, ids == i


def test_box_and_centroid_prompts_reach_a_sanity_floor_on_voc(registry, voc_dir) -> None:
    seg = load_segmenter("classical", registry=registry, cache=EmbeddingCache(100))
    ious = []
    for image, obj in _objects(voc_dir):
        seg.set_image_path(image)
        ys, xs = np.nonzero(obj)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        cands = seg.predict(Prompt.from_clicks([(xs.mean(), ys.mean())], box=box))
        assert len(cands) == 1 and cands[0].mask.shape == obj.shape
        ious.append(mask_iou(cands[0].mask, obj))
    assert len(ious) >= 10
    # measured 0.66 (benchmarks/classical_voc.py); a floor well above what a plain box gives on thin objects
    assert np.mean(ious) >= 0.55, ious
    assert np.median(ious) >= 0.6, ious


def test_points_only_gives_a_region_around_the_click(registry, voc_dir) -> None:
    seg = load_segmenter("classical", registry=registry, cache=EmbeddingCache(100))
    seg.set_image_path(voc_dir / "data_annotated" / "2011_000006.jpg")
    c = seg.predict(Prompt.from_clicks([(250, 250)], [(20, 20)]))[0]
    assert c.mask[250, 250] and not c.mask[20, 20]
    assert 100 < c.area < c.mask.size // 2


def test_everything_gives_disjoint_full_size_regions(registry, voc_dir) -> None:
    image = load_image(voc_dir / "data_annotated" / "2011_000003.jpg")
    seg = load_segmenter("classical", registry=registry, cache=EmbeddingCache(100))
    regions = seg.everything(image)
    assert len(regions) >= 10
    areas = [r.area for r in regions]
    assert areas == sorted(areas, reverse=True)
    stack = np.stack([r.mask for r in regions])
    assert stack.shape[1:] == image.shape[:2]
    assert stack.sum(axis=0).max() <= 2  # watershed regions: at most a seam pixel shared after upsampling
    assert stack.any(axis=0).mean() > 0.8  # they cover most of the image
