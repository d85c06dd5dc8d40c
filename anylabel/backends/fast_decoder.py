"""SAM's and SAM2's mask decoder on a CPU: the upstream module's own sub-modules and weights, evaluated in a
cheaper order. Same function, float-rounding differences only (tests/backends/test_fast_decoder.py compares
it with the upstream ``MaskDecoder``: logits within 1e-4).

Why: a click is one pass of the decoder (segment_anything ``MaskDecoder`` / sam2 ``MaskDecoder``: a
two-layer ``TwoWayTransformer`` between ~7 prompt tokens and the 64x64 = 4096 image tokens, then a 4x
transposed-convolution upscaling). Upstream, on a CPU, spends most of a click on work that is either
constant or larger than it needs to be:

1. **Per-image constants** (:meth:`FastMaskDecoder.prepare`, run once at ``set_image``): the first layer's
   image side is ``embedding + dense``, and the dense prompt embedding is either the constant
   ``no_mask_embed`` vector or, for a mask prompt (the previous answer's logits, passed with every
   refinement click), ``mask_downscaling``'s last 1x1 convolution of a 16-channel map ``g``: ``g W3^T + b3``,
   rank 16 plus a constant. So the first layer's token-to-image keys and values and image-to-token queries
   are the projections of the embedding (computed once per image: three 4096x256x128 products, 0.8 GFLOP)
   plus a constant vector plus ``g (W W3)^T`` (rank 16: ~1/8 of the cost, and only with a mask prompt).
   Likewise the positional encoding's share of every image-side projection, ``pe Wk^T + bk``, is a
   per-model constant (``fast_attention.CrossAttention``), so ``keys + pe`` is never formed.
2. **Associativity** (``fast_attention.tokens_to_image`` / ``image_to_tokens``): a projection of the 4096 image
   tokens followed by a product with ~7 tokens is done the other way round, on the weights first:
   ``(X Wk^T) q^T == X (q Wk)^T``, ``A (X Wv^T + bv) == (A X) Wv^T + bv`` (softmax rows sum to 1) and
   ``out_proj(concat_h A_h v_h) == sum_h A_h (v_h Wo_h^T) + bo``. Each 4096x256x128 projection (268 MFLOP)
   becomes a 4096x256x(heads*tokens) product (~117 MFLOP with 8 heads and 7 tokens). Upstream's decoder is
   ~3.6 GFLOP per click; this is ~1.7.
3. **Layouts**: upstream's first layer works on a permuted (non-contiguous) view of the embedding, softmaxes
   over the 7-token axis as the last dimension (a slow scalar kernel: 5 ms for 230 k values on this CPU)
   and its ``LayerNorm2d`` makes 8 passes over the upscaled map. Here the image tokens are a contiguous
   N x C matrix and the image-to-token scores are laid out tokens-first, so the softmax runs on the
   vectorised path. The upscaling's stride-2 2x2 transposed convolutions are plain matrix products onto
   sub-pixel rows (:meth:`FastMaskDecoder._upscale`), so its layer norm is one ``F.layer_norm`` over
   contiguous rows and the activations run on contiguous memory.
4. Only the mask tokens that are returned (3 for multimask, 1 otherwise) go through their hypernetwork
   (one batched product per layer for all of them, :class:`_StackedMLPs`) and the final mask product; the
   masks go from sub-pixel to image order with one gather. From the second layer on, the residual sum
   overwrites the previous layer's temporary keys instead of copying them; attention scales are folded into
   the projection weights.
5. **Precision** (``product_dtype``): float32 by default (the function above, within 1e-4 of upstream).
   With ``torch.bfloat16`` (see :mod:`anylabel.backends.precision`) the products with the 4096 image tokens
   and the whole upscaling run in bfloat16, which CPUs with AMX multiply ~5x faster; softmax, residual sums
   and the token-side layers stay float32.

Everything is batch size 1 (one prompt set per click), which is how the adapters call it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from anylabel.backends.fast_attention import CrossAttention, DenseEmbedding, image_to_tokens, tokens_to_image


@dataclass
class ImageState:
    """Per-image tensors of :meth:`FastMaskDecoder.prepare` (float32; N = h*w image tokens, C channels).

    Attributes:
        keys: N x C image embedding (one row per token, in the order of upstream's ``flatten(2)``) plus
            ``no_mask_embed``: the first layer's keys without a mask prompt (a mask prompt's are derived).
        k0: H x d x N first-layer token-to-image keys of the embedding alone, ``k_proj(feat + pe)``,
            head-split and transposed (the dense prompt's share is added per click).
        v0: H x N x d first-layer token-to-image values ``v_proj(feat)``.
        q0: H x d x N first-layer image-to-token queries ``q_proj(feat + pe)``.
        high_res: SAM2's high-resolution features [feat_s0, feat_s1] as sub-pixel rows plus the upscaling
            products' biases (see ``_upscale``), or None.
        hw: (h, w) of the embedding grid.
    """

    keys: Tensor
    k0: Tensor
    v0: Tensor
    q0: Tensor
    high_res: Optional[List[Tensor]]
    hw: Tuple[int, int]


def _rows(x: Tensor) -> Tensor:
    """1 x C x h x w -> (h*w) x C view (one row per image token, the order of upstream's flatten(2))."""
    return x.flatten(2)[0].t()


class _StackedMLPs:
    """The mask tokens' hypernetwork MLPs (upstream ``MLP`` modules of one shape, one per token) as batched
    products: one ``baddbmm`` per layer for all returned tokens instead of one ``Linear`` per token and layer
    (9 small products per click become 3). Falls back to the modules for an activation other than ReLU."""

    def __init__(self, mlps: Sequence[Any]) -> None:
        self.mlps = list(mlps)
        self.plain = all(not getattr(m, "sigmoid_output", False)
                         and isinstance(getattr(m, "act", torch.nn.ReLU()), torch.nn.ReLU) for m in self.mlps)
        groups = list(zip(*[m.layers for m in self.mlps]))  # per layer: that layer of every MLP
        self.w = [torch.stack([lin.weight.detach().t() for lin in g]) for g in groups]  # K x in x out
        self.b = [torch.stack([lin.bias.detach() for lin in g])[:, None] for g in groups]  # K x 1 x out
        self._subsets: dict = {}

    def __call__(self, rows: Tensor, chosen: Sequence[int]) -> Tensor:
        """M x out outputs of the ``chosen`` tokens' MLPs for their M x C ``rows``."""
        if not self.plain:
            return torch.stack([self.mlps[i](rows[j]) for j, i in enumerate(chosen)])
        key = tuple(chosen)
        layers = self._subsets.get(key)
        if layers is None:  # 3 subsets in practice (multimask, single, SAM2's dynamic): weights sliced once
            idx = list(key)
            layers = self._subsets[key] = [(w[idx], b[idx]) for w, b in zip(self.w, self.b)]
        y = rows[:, None]  # M x 1 x C
        for j, (w, b) in enumerate(layers):
            y = torch.baddbmm(b, y, w)
            if j < len(layers) - 1:
                y = torch.relu(y)
        return y[:, 0]


def _subpixel(conv: Any) -> Tuple[Tensor, Tensor]:
    """A ConvTranspose2d(ci, co, kernel 2, stride 2) as a ci x (2*2*co) matrix and bias: each input pixel
    becomes 4 output pixels, columns ordered (ky, kx, co)."""
    ci, co, kh, kw = conv.weight.shape
    if (kh, kw) != (2, 2) or tuple(conv.stride) != (2, 2) or tuple(conv.padding) != (0, 0) \
            or tuple(conv.output_padding) != (0, 0) or conv.groups != 1 or tuple(conv.dilation) != (1, 1):
        raise ValueError(f"expected a 2x2 stride-2 transposed convolution, got {conv}")
    w, b = conv.weight.detach(), conv.bias.detach()
    return w.permute(0, 2, 3, 1).reshape(ci, kh * kw * co).contiguous(), b.repeat(kh * kw)


class FastMaskDecoder:
    """A SAM (segment_anything) or SAM2 (sam2) ``MaskDecoder`` evaluated as described in the module docstring.

    Args:
        decoder: the upstream mask decoder (its weights and sub-modules are used, not copied).
        prompt_encoder: the upstream prompt encoder of the same model: its dense positional encoding,
            ``no_mask_embed`` and ``mask_downscaling`` are used.
    """

    def __init__(self, decoder: Any, prompt_encoder: Any, product_dtype: torch.dtype = torch.float32) -> None:
        self.decoder = decoder
        self.product_dtype = product_dtype
        self.transformer = tr = decoder.transformer
        self.downscaling = prompt_encoder.mask_downscaling  # convolutions ..., then a 1x1 conv to C channels
        last = self.downscaling[-1]
        if tuple(last.kernel_size) != (1, 1):
            raise ValueError(f"expected mask_downscaling to end with a 1x1 convolution, got {last}")
        self.obj_token = 1 if getattr(decoder, "pred_obj_scores", False) else 0  # SAM2.1 prepends a token
        with torch.no_grad():
            self.no_mask = prompt_encoder.no_mask_embed.weight.detach().reshape(-1)
            self.w3, self.b3 = last.weight.detach().flatten(1), last.bias.detach()  # C x r, C
            pe = _rows(prompt_encoder.get_dense_pe().detach())
            self.t2i = [CrossAttention(layer.cross_attn_token_to_image, layer.cross_attn_token_to_image.k_proj, pe)
                        for layer in tr.layers] + [CrossAttention(tr.final_attn_token_to_image,
                                                          tr.final_attn_token_to_image.k_proj, pe)]
            self.i2t = [CrossAttention(layer.cross_attn_image_to_token, layer.cross_attn_image_to_token.q_proj, pe)
                        for layer in tr.layers]
            self.t2i[0].dense_terms(self.w3)
            self.i2t[0].dense_terms(self.w3)
            self.up1, self.up2 = (tuple(t.to(product_dtype) for t in _subpixel(decoder.output_upscaling[i]))
                                  for i in (0, 3))
            ln = decoder.output_upscaling[1]
            self.ln1 = (ln.weight.detach().to(product_dtype), ln.bias.detach().to(product_dtype), float(ln.eps))
            self.hypernets = _StackedMLPs(decoder.output_hypernetworks_mlps)
        self._image_order: dict = {}  # (h, w, masks) -> gather index from sub-pixel to image order (_upscale)
        # python ints, not tensor sizes: the ONNX tracer keeps them constant
        self.c1, self.c2 = int(self.up1[1].shape[0]) // 4, int(self.up2[1].shape[0]) // 4

    @torch.inference_mode()
    def prepare(self, image_embed: Tensor, high_res: Optional[Sequence[Tensor]] = None) -> ImageState:
        """Per-image constants: ``image_embed`` 1 x C x h x w; ``high_res`` SAM2's [1x c0 x 4h x 4w,
        1 x c1 x 2h x 2w] (``feat_s0``, ``feat_s1``)."""
        h, w = (int(v) for v in image_embed.shape[-2:])
        feat = _rows(image_embed.detach()).contiguous()  # N x C
        t2i, i2t = self.t2i[0], self.i2t[0]
        n, c = feat.shape
        k0 = torch.mm(t2i.w_image.reshape(-1, c), feat.t()).view(t2i.heads, t2i.d, n) + t2i.pe_proj
        v0 = t2i.attn.v_proj(feat).view(n, t2i.heads, t2i.d).transpose(0, 1).contiguous()
        q0 = torch.mm(i2t.w_image.reshape(-1, c), feat.t()).view(i2t.heads, i2t.d, n) + i2t.pe_proj
        rows = None
        if high_res is not None:
            s0, s1 = (f.detach()[0] for f in high_res)
            # in the layout of _upscale's products (rows (y, x[, ky, kx]), columns (ky, kx, channel)), with the
            # products' biases added: they become the products' initial values, so no separate addition
            rows = [(s0.reshape(-1, h, 2, 2, w, 2, 2).permute(1, 4, 2, 5, 3, 6, 0).reshape(n * 4, -1)
                     .to(self.product_dtype) + self.up2[1]),
                    (s1.reshape(-1, h, 2, w, 2).permute(1, 3, 2, 4, 0).reshape(n, -1)
                     .to(self.product_dtype) + self.up1[1])]
        return ImageState(keys=feat + self.no_mask, k0=k0, v0=v0, q0=q0, high_res=rows, hw=(h, w))

    @torch.no_grad()  # not inference_mode: the ONNX export traces decode_all
    def __call__(self, state: ImageState, sparse: Tensor, mask_input: Optional[Tensor],
                 multimask: bool) -> Tuple[Tensor, Tensor]:
        """Masks for one prompt set on a prepared image.

        Args:
            sparse: 1 x S x C sparse prompt embedding (points, box corners).
            mask_input: 1 x 1 x 4h x 4w mask prompt (previous low-res logits), or None.
            multimask: the decoder's ``multimask_output``.
        Returns:
            (low-res logits 1 x M x 4h x 4w, IoU predictions 1 x M) as upstream's ``forward`` returns them
            (M = 3 with multimask, else 1; SAM2's dynamic multimask-via-stability applies).
        """
        dec = self.decoder
        dynamic = not multimask and getattr(dec, "dynamic_multimask_via_stability", False)
        chosen = range(1, dec.num_mask_tokens) if multimask else (range(dec.num_mask_tokens) if dynamic else [0])
        if mask_input is None:
            dense = DenseEmbedding(None, self.no_mask)
        else:  # prompt_encoder._embed_masks(mask_input) == g W3^T + b3: kept factored (fast_attention)
            g = _rows(self.downscaling[:-1](mask_input))  # N x r
            dense = DenseEmbedding(g, self.b3, self.w3.t(), self.b3 - self.no_mask)
        masks, iou = self._decode(state.keys, (state, dense), state.hw, state.high_res, sparse, chosen)
        if dynamic:
            masks, iou = dec._dynamic_multimask_via_stability(masks, iou)
        return masks, iou

    @torch.no_grad()
    def decode_all(self, image_embed: Tensor, sparse: Tensor, dense: Tensor) -> Tuple[Tensor, Tensor]:
        """Upstream's ``predict_masks`` (every mask token, no per-image cache) for a SAM decoder: 1 x C x h x w
        embedding, 1 x S x C sparse and 1 x C x h x w dense embeddings -> (1 x K x 4h x 4w logits, 1 x K)."""
        hw = (int(image_embed.shape[-2]), int(image_embed.shape[-1]))
        return self._decode(_rows(image_embed + dense), None, hw, None, sparse,
                            range(self.decoder.num_mask_tokens))

    def _decode(self, keys: Tensor, cached: Optional[Tuple[ImageState, DenseEmbedding]], hw: Tuple[int, int],
                high_res: Optional[List[Tensor]], sparse: Tensor, chosen: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """Transformer, upscaling and the ``chosen`` mask tokens' masks and IoU predictions."""
        dec = self.decoder
        weights = [dec.iou_token.weight, dec.mask_tokens.weight]
        if self.obj_token:
            weights.insert(0, dec.obj_score_token.weight)
        tokens = torch.cat(weights + [sparse[0]], dim=0)  # T x C
        hs, keys = self._transformer(tokens, keys, cached)
        s = self.obj_token
        hyper = self.hypernets(hs[[s + 1 + i for i in chosen]], chosen)  # M x c
        masks = self._upscale(keys, hw, high_res, hyper, len(chosen))
        iou = dec.iou_prediction_head(hs[s:s + 1])[:, list(chosen)]
        return masks, iou

    def _transformer(self, tokens: Tensor, keys: Tensor,
                     cached: Optional[Tuple[ImageState, DenseEmbedding]]) -> Tuple[Tensor, Tensor]:
        """``TwoWayTransformer.forward`` on T x C tokens and N x C image tokens (embedding + dense); ``cached``:
        the image's :meth:`prepare` state and the dense prompt, for layer 0 (else everything from ``keys``)."""
        queries, query_pe = tokens[None], tokens[None]  # upstream token-side modules take B x T x C
        low = self.product_dtype
        for i, layer in enumerate(self.transformer.layers):
            if layer.skip_first_layer_pe:
                queries = layer.self_attn(q=queries, k=queries, v=queries)
            else:
                q = queries + query_pe
                queries = queries + layer.self_attn(q=q, k=q, v=queries)
            queries = layer.norm1(queries)
            first, dense = cached if cached is not None and i == 0 else (None, None)
            # the keys' products in the product dtype: one cast per layer (none with the cached first layer)
            keys_low = keys if first is not None or low == keys.dtype else keys.to(low)
            q = (queries + query_pe)[0]
            queries = layer.norm2(queries + tokens_to_image(self.t2i[i], q, keys_low, first, dense))
            queries = layer.norm3(queries + layer.mlp(queries))
            q = (queries + query_pe)[0]
            # from the second layer on, ``keys`` is the previous layer's norm4 output: overwritten in place
            keys = layer.norm4(image_to_tokens(self.i2t[i], keys, q, queries[0], first, dense, inplace=i > 0,
                                                keys_low=None if keys_low is keys else keys_low))
        keys = keys.to(low)  # shared by the last attention and the upscaling
        q = (queries + query_pe)[0]
        out = tokens_to_image(self.t2i[-1], q, keys)
        return self.transformer.norm_final_attn(queries + out)[0], keys

    def _upscale(self, keys: Tensor, hw: Tuple[int, int], high_res: Optional[List[Tensor]],
                 hyper: Tensor, m: int) -> Tensor:
        """``output_upscaling`` of the N x C image tokens (SAM2: plus the high-resolution features), then the
        masks ``hyper @ upscaled`` for the ``m`` x c hypernetwork outputs: 1 x m x 4h x 4w.

        Each 2x2 stride-2 transposed convolution is a matrix product that turns every row (pixel) into 4 rows
        (its 2x2 sub-pixels), so the rows stay contiguous channel vectors throughout: rows are ordered
        (y, x, ky, kx) after the first and (y, x, ky, kx, ky2, kx2) after the second, output pixel
        (4y + 2ky + ky2, 4x + 2kx + kx2). One reshape at the end puts the M masks in image order.
        """
        h, w = hw
        _, _, act1, _, act2 = self.decoder.output_upscaling
        dtype = self.product_dtype  # float32, or bfloat16 (see anylabel.backends.precision); no-op casts in float32
        # SAM2: dc1(src) + feat_s1 and dc2(...) + feat_s0, the features' rows prepared with the biases
        b1, b2 = (self.up1[1], self.up2[1]) if high_res is None else (high_res[1], high_res[0])
        x = torch.addmm(b1, keys.to(dtype), self.up1[0]).view(-1, self.c1)  # N x (4 c1) -> 4N x c1
        x = act1(F.layer_norm(x, (self.c1,), *self.ln1))  # = LayerNorm2d per pixel
        x = torch.addmm(b2, x, self.up2[0]).view(-1, self.c2)  # 4N x (4 c2) -> 16N x c2
        masks = torch.mm(hyper.to(dtype), act2(x).t()).float()  # M x 16N, rows in sub-pixel order
        if torch.jit.is_tracing():  # the ONNX export: a plain permutation
            return masks.view(m, h, w, 2, 2, 2, 2).permute(0, 1, 3, 5, 2, 4, 6).reshape(1, m, 4 * h, 4 * w)
        # the same permutation as one gather with a cached index: half the time of a 7-d strided copy
        order = self._image_order.get((h, w, m))
        if order is None:
            order = torch.arange(m * 16 * h * w, device=masks.device).view(m, h, w, 2, 2, 2, 2)
            order = self._image_order[(h, w, m)] = order.permute(0, 1, 3, 5, 2, 4, 6).reshape(-1)
        return torch.take(masks, order).view(1, m, 4 * h, 4 * w)
