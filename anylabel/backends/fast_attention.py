"""The cross-attentions of SAM's / SAM2's ``TwoWayTransformer`` in the order a CPU evaluates cheaply.

Used by :class:`~anylabel.backends.fast_decoder.FastMaskDecoder` (whose docstring explains the algebra):
:class:`CrossAttention` holds head-split views of one upstream ``Attention`` module's weights and its
positional constant; :func:`tokens_to_image` and :func:`image_to_tokens` compute the two directions of the
attention between the ~7 prompt tokens and the 4096 image tokens, with the projections applied to the few
tokens rather than the many, and (first layer) from the per-image constants plus a low-rank dense prompt
(:class:`DenseEmbedding`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:  # the decoder module imports this one
    from anylabel.backends.fast_decoder import ImageState


class CrossAttention:
    """Views of one upstream cross ``Attention`` module's weights, split by head, and its positional constant.

    ``image_side`` is the projection applied to the image tokens (``k_proj`` token-to-image, ``q_proj``
    image-to-token). ``pe_proj`` = ``(pe W^T + b)`` of that projection, H x d x N: with it,
    ``proj(keys + pe) == keys W^T + pe_proj`` and ``keys + pe`` is never materialised.
    """

    def __init__(self, attn: Any, image_side: Any, pe: Tensor) -> None:
        self.attn = attn
        self.heads = int(attn.num_heads)
        self.d = int(attn.internal_dim) // self.heads
        scale = 1.0 / math.sqrt(self.d)  # a power of two for d = 16: folding it into the weights is exact
        small = attn.q_proj if image_side is attn.k_proj else attn.k_proj  # the projection of the T tokens
        self.w_small, self.b_small = small.weight.detach() * scale, small.bias.detach() * scale
        # detached views of the parameters (no copies); detached so that the ONNX tracer may embed them
        w, b = image_side.weight.detach(), image_side.bias.detach()
        self.w_image = w.view(self.heads, self.d, w.shape[1])  # H x d x C
        self.pe_proj = F.linear(pe, w, b).view(-1, self.heads, self.d).permute(1, 2, 0).contiguous()  # H x d x N
        v, o = attn.v_proj.weight.detach(), attn.out_proj.weight.detach()
        self.wv_t = v.view(self.heads, self.d, v.shape[1]).transpose(1, 2)  # H x C x d (token-to-image)
        self.bv = attn.v_proj.bias.detach().view(self.heads, 1, self.d)
        self.wo = o.view(o.shape[0], self.heads, self.d).permute(1, 2, 0)  # H x d x C (image-to-token)
        self.wv = v  # D x C

    def dense_terms(self, w3: Tensor) -> None:
        """First layer only: the image-side and value projections of a rank-r dense embedding ``g W3^T``
        (``w3``: C x r), i.e. ``W W3`` head-split (H x d x r), so that ``proj(g W3^T) == g (W W3)^T``."""
        r = w3.shape[1]
        self.low_image = torch.mm(self.w_image.reshape(-1, w3.shape[0]), w3).view(self.heads, self.d, r)
        self.low_value_t = torch.mm(self.wv, w3).view(self.heads, self.d, r).transpose(1, 2)  # H x r x d

    def dense_scores(self, small: Tensor, dense: "DenseEmbedding") -> Tensor:
        """H x T x N (or H x T x 1) share of a dense embedding in the first layer's scores of ``small``."""
        const = torch.mv(self.w_image.reshape(-1, dense.b.shape[0]), dense.b).view(self.heads, self.d, 1)
        out = torch.bmm(small, const)  # H x T x 1
        if dense.g is not None:
            out = out + torch.matmul(torch.bmm(small, self.low_image), dense.g.t())  # (q W W3) g^T
        return out

    def project_small(self, x: Tensor) -> Tensor:
        """H x T x d scaled projection of the T x C tokens (q_proj token-to-image, k_proj image-to-token)."""
        return F.linear(x, self.w_small, self.b_small).view(x.shape[0], self.heads, self.d).transpose(0, 1)

    def image_scores(self, small: Tensor, keys: Tensor) -> Tensor:
        """H x T x N scores ``small_h . proj(keys + pe)_h`` of H x T x d ``small`` against N x C ``keys``."""
        h, t, _ = small.shape
        sw = torch.bmm(small, self.w_image)  # H x T x C: the weights meet the T tokens, not the N keys
        pe = torch.bmm(small, self.pe_proj).view(h * t, -1)  # the positional share: the product's initial value
        if keys.dtype == pe.dtype:
            return torch.addmm(pe, sw.reshape(h * t, -1), keys.t()).view(h, t, -1)
        # bfloat16 keys: a bfloat16 product, summed with the positional share in float32
        return torch.mm(sw.reshape(h * t, -1).to(keys.dtype), keys.t()).float().add_(pe).view(h, t, -1)


@dataclass
class DenseEmbedding:
    """A dense prompt embedding ``g W3^T + b`` (rows): ``g`` N x r or None (no mask prompt), ``b`` C;
    ``w3t`` = W3^T (r x C) and ``shift`` = ``b - no_mask_embed`` (C) when ``g`` is given."""

    g: Optional[Tensor]
    b: Tensor
    w3t: Optional[Tensor] = None
    shift: Optional[Tensor] = None


def tokens_to_image(x: CrossAttention, q_in: Tensor, keys: Optional[Tensor], first: Optional[ImageState] = None,
                     dense: Optional[DenseEmbedding] = None) -> Tensor:
    """``attn(q=q_in, k=keys + pe, v=keys)`` for T tokens attending to N image tokens; returns T x C.

    q_in: T x C; keys: N x C (float32, or bfloat16 for cheaper products), or (first layer) the image's
    ``first`` state plus the ``dense`` prompt.
    """
    a, t = x.attn, q_in.shape[0]
    q = x.project_small(q_in)  # H x T x d
    if first is not None:
        scores = torch.bmm(q, first.k0) + x.dense_scores(q, dense)
    else:
        scores = x.image_scores(q, keys)
    attn = torch.softmax(scores, dim=-1)  # over the image tokens: the last, long axis
    if first is not None:  # rows of attn sum to 1: the constant's value is added once
        out = torch.bmm(attn, first.v0) + torch.mv(x.wv, dense.b).view(x.heads, 1, x.d)  # H x T x d
        if dense.g is not None:
            out = out + torch.bmm(torch.matmul(attn, dense.g), x.low_value_t)  # (A g) (Wv W3)^T
    else:  # A_h (X Wv_h^T + bv_h) == (A_h X) Wv_h^T + bv_h
        ax = torch.mm(attn.view(x.heads * t, -1).to(keys.dtype), keys).float().view(x.heads, t, -1)  # H x T x C
        out = torch.baddbmm(x.bv, ax, x.wv_t)
    return a.out_proj(out.transpose(0, 1).reshape(t, x.heads * x.d))


def image_to_tokens(x: CrossAttention, keys: Tensor, k_in: Tensor, v_in: Tensor, first: Optional[ImageState] = None,
                     dense: Optional[DenseEmbedding] = None, inplace: bool = False,
                     keys_low: Optional[Tensor] = None) -> Tensor:
    """``keys + attn(q=keys + pe, k=k_in, v=v_in)`` for N image tokens attending to T tokens; N x C.

    keys: N x C float32; k_in, v_in: T x C; first layer: the image's ``first`` state and the ``dense`` prompt.
    ``inplace``: ``keys`` is a temporary of this click, the result may overwrite it (no 4 MB copy).
    ``keys_low``: ``keys`` in bfloat16 for the scores' product (the residual sum stays float32).
    """
    a, t = x.attn, k_in.shape[0]
    k = x.project_small(k_in)  # H x T x d
    v = a.v_proj(v_in).view(t, x.heads, x.d).transpose(0, 1)  # H x T x d
    if first is not None:
        scores = torch.bmm(k, first.q0) + x.dense_scores(k, dense)  # H x T x N
    else:
        scores = x.image_scores(k, keys if keys_low is None else keys_low)
    attn = torch.softmax(scores, dim=1)  # over the T tokens: tokens-first keeps the kernel vectorised
    u = torch.bmm(v, x.wo)  # H x T x C: v_h Wo_h^T
    # one product for everything added to the residual ``keys``: attention output, out_proj's bias (a column
    # of ones) and, with a mask prompt in the first layer, its dense embedding's difference to the no-mask
    # rows ``keys`` (g W3^T + b3 - no_mask): no separate N x C passes
    n = scores.shape[-1]
    cols, rows, const = [attn.view(x.heads * t, n).t()], [u.reshape(x.heads * t, -1)], a.out_proj.bias
    if dense is not None and dense.g is not None:
        cols.append(dense.g)
        rows.append(dense.w3t)
        const = const + dense.shift
    cols.append(attn.new_ones(n, 1))
    rows.append(const[None])
    if inplace:
        return keys.addmm_(torch.cat(cols, 1), torch.cat(rows, 0))
    return torch.addmm(keys, torch.cat(cols, 1), torch.cat(rows, 0))
