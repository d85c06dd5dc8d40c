"""A small random SAM 3 tracker for the tests: upstream's ``build_tracker(with_backbone=True)`` (the real classes:
ViT trunk, dual neck, memory encoder, RoPE memory attention, SAM heads) with a narrow, shallow ViT and a
336-px input instead of 1008 (test-only changes, like the SAM2 tracking model's 256 px in conftest.py):

* the ViT is sam3's own ``ViT`` with 64 channels and 2 blocks (sam3's builder has no smaller variant, so
  ``sam3.model_builder._create_vit_backbone`` is swapped while building, then put back);
* ``image_size`` 336 and the mask downsampler's interpolation size 384 (16x the 24x24 feature map), so a
  tracked frame costs well under a second instead of ~10 s (the memory attention at 72x72 is what costs);
* the object-score head's last bias +5: random weights put "object visible" near 0.5, so masks would vanish
  at random (as in conftest.py for SAM2).
"""
from __future__ import annotations

from typing import Any

IMAGE_SIZE = 336


def small_vit(compile_mode: Any = None) -> Any:
    from sam3.model.vitdet import ViT

    return ViT(img_size=IMAGE_SIZE, pretrain_img_size=336, patch_size=14, embed_dim=64, depth=2, num_heads=2,
               mlp_ratio=2.0, norm_layer="LayerNorm", drop_path_rate=0.0, qkv_bias=True, use_abs_pos=True,
               tile_abs_pos=True, global_att_blocks=(1,), rel_pos_blocks=(), use_rope=True, use_interp_rope=True,
               window_size=24, pretrain_use_cls_token=True, retain_cls_token=False, ln_pre=True, ln_post=False,
               return_interm_layers=False, bias_patch_embed=False, compile_mode=compile_mode)


def small_sam3_tracker(memory_selection: bool = True, seed: int = 0) -> Any:
    """The small tracker on the CPU, in eval mode, set up as :func:`anylabel.tracking.sam3_model.build_sam3_tracker`
    sets up the full-size one."""
    import sam3.model_builder as mb
    import torch

    from anylabel.backends.sam3_device import on_device
    from anylabel.tracking.sam3_model import prepare_sam3_for_tracking

    torch.manual_seed(seed)
    full = mb._create_vit_backbone
    mb._create_vit_backbone = small_vit
    try:
        with on_device("cpu"):
            model = mb.build_tracker(apply_temporal_disambiguation=memory_selection, with_backbone=True)
    finally:
        mb._create_vit_backbone = full
    model.image_size = IMAGE_SIZE
    model.low_res_mask_size = IMAGE_SIZE // model.backbone_stride * 4
    model.input_mask_size = model.low_res_mask_size * 4
    model.maskmem_backbone.mask_downsampler.interpol_size = [model.input_mask_size] * 2
    with on_device("cpu"):
        model._build_sam_heads()  # upstream's own: the prompt encoder and decoder for the new size
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.fill_(5.0)
    return prepare_sam3_for_tracking(model, "cpu")
