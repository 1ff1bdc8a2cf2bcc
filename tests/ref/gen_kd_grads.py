#!/usr/bin/env python3
"""Reference values of the distillation and pruning objectives (issue 17).

Loads the tiny random BERT of tests/ref/tiny_bert (gen_grads.py) as
transformers' BertForSequenceClassification (eager attention, dropout
off), runs the batch of tiny_grads.safetensors and writes
tests/ref/tiny_kd_grads.safetensors, read by tests/unit/test_backward_kd.c:

  ids, type_ids, lens, labels        the batch (int32)
  teacher [B,3], teacher_hidden [B,T,C]  seeded teacher outputs
  T, alpha, weight, sw [B]           the objectives' settings
  kd.loss, kd.dlogits                alpha T^2 KL(batchmean) + (1-alpha) CE
  kdsoft.loss, kdsoft.dlogits        y absent: alpha T^2 KL only
  kdsw.loss, kdsw.dlogits            sample weights sw, record 1 unlabelled
  kdml.loss, kdml.dlogits            multi-label: alpha T^2 BCE(s/T,
                                     sigmoid(t/T)) + (1-alpha) BCE(s, mlabels)
  kdmlsoft.loss, kdmlsoft.dlogits    the same without hard targets
  hcos.loss, hcos.grad.NAME          weight * CosineEmbeddingLoss(h_s, h_t, 1)
                                     over the real tokens of the last hidden
                                     state, gradient of every parameter
  both.loss, both.grad.NAME          kd.loss + hcos.loss, every parameter
  head.loss, head.grad [L,NH]        the CE loss and its gradient w.r.t. a
                                     head mask of ones multiplying each head's
                                     context output (before
                                     attention.output.dense)

The head mask: transformers 5 has no head_mask argument any more; the mask
is inserted with a forward pre-hook on attention.output.dense that
multiplies head h's slice of the context by m[l,h], which is what
head_mask did (probabilities times m[l,h], then times V).

Usage: python3 tests/ref/gen_kd_grads.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import BertForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)


def load():
    model = BertForSequenceClassification.from_pretrained(os.path.join(HERE, "tiny_bert"),
                                                          attn_implementation="eager")
    model.eval()
    return model


def forward(model, b, hidden=False):
    out = model(input_ids=b["ids"], attention_mask=b["mask"], token_type_ids=b["types"],
                output_hidden_states=hidden)
    return out


def kd(s, t, T, alpha, y, sw):
    """Per-record weighted mean of both terms, torch ops (sw None: batchmean)."""
    kl = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="none").sum(-1)
    w = torch.ones(s.shape[0]) if sw is None else sw
    loss = alpha * T * T * (w * kl).sum() / w.sum()
    if y is not None:
        keep = (y != -100).float() * w
        ce = F.cross_entropy(s, y.clamp(min=0), reduction="none")
        loss = loss + (1 - alpha) * (keep * ce).sum() / keep.sum()
    return loss


def kd_ml(s, t, T, alpha, ym):
    loss = alpha * T * T * F.binary_cross_entropy_with_logits(s / T, torch.sigmoid(t / T))
    if ym is not None:
        loss = loss + (1 - alpha) * F.binary_cross_entropy_with_logits(s, ym)
    return loss


def hcos(h, ht, mask, weight):
    real = mask.bool()
    return weight * torch.nn.CosineEmbeddingLoss()(h[real], ht[real], torch.ones(int(real.sum())))


def main():
    ref = load_file(os.path.join(HERE, "tiny_grads.safetensors"))
    b = {"ids": ref["ids"].long(), "types": ref["type_ids"].long(), "y": ref["labels"].long()}
    B, T_ = b["ids"].shape
    b["mask"] = (torch.arange(T_)[None, :] < ref["lens"][:, None]).long()
    model = load()
    cfg = model.config
    g = torch.Generator().manual_seed(17)
    teacher = 2.0 * torch.randn(B, cfg.num_labels, generator=g)
    T, alpha, weight = 2.5, 0.7, 0.8
    sw = torch.tensor([1.0, 0.5, 2.0, 1.5])
    ym = ref["mlabels"]
    out = {"ids": ref["ids"], "type_ids": ref["type_ids"], "lens": ref["lens"], "labels": ref["labels"],
           "mlabels": ym, "teacher": teacher, "T": torch.tensor([T]), "alpha": torch.tensor([alpha]),
           "weight": torch.tensor([weight]), "sw": sw}

    def logits_case(name, fn):
        model.zero_grad()
        s = forward(model, b).logits.detach().requires_grad_(True)
        loss = fn(s)
        loss.backward()
        out[name + ".loss"] = loss.detach().reshape(1)
        out[name + ".dlogits"] = s.grad.contiguous()

    y_ign = b["y"].clone()
    y_ign[1] = -100
    logits_case("kd", lambda s: kd(s, teacher, T, alpha, b["y"], None))
    logits_case("kdsoft", lambda s: kd(s, teacher, T, alpha, None, None))
    logits_case("kdsw", lambda s: kd(s, teacher, T, alpha, y_ign, sw))
    logits_case("kdml", lambda s: kd_ml(s, teacher, T, alpha, ym))
    logits_case("kdmlsoft", lambda s: kd_ml(s, teacher, T, alpha, None))

    # teacher hidden: the student's own last hidden state, perturbed
    with torch.no_grad():
        h0 = forward(model, b, True).hidden_states[-1]
    th = h0 + 0.7 * torch.randn(h0.shape, generator=g)
    th = th * b["mask"][:, :, None]  # padding rows are never read: zero them
    out["teacher_hidden"] = th.contiguous()

    def param_case(name, fn):
        model.zero_grad()
        o = forward(model, b, True)
        loss = fn(o)
        loss.backward()
        out[name + ".loss"] = loss.detach().reshape(1)
        for n, p in model.named_parameters():
            out[name + ".grad." + n] = (p.grad if p.grad is not None else torch.zeros_like(p)).contiguous()

    param_case("hcos", lambda o: hcos(o.hidden_states[-1], th, b["mask"], weight))
    param_case("both", lambda o: kd(o.logits, teacher, T, alpha, b["y"], None) +
               hcos(o.hidden_states[-1], th, b["mask"], weight))

    # head mask
    L, NH, C = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size
    m = torch.ones(L, NH, requires_grad=True)
    hooks = []
    for l, layer in enumerate(model.bert.encoder.layer):
        def pre(mod, args, l=l):
            x = args[0]
            scale = m[l].repeat_interleave(C // NH)
            return (x * scale,)
        hooks.append(layer.attention.output.dense.register_forward_pre_hook(pre))
    model.zero_grad()
    loss = F.cross_entropy(forward(model, b).logits, b["y"])
    loss.backward()
    for h in hooks:
        h.remove()
    out["head.loss"] = loss.detach().reshape(1)
    out["head.grad"] = m.grad.contiguous()
    save_file(out, os.path.join(HERE, "tiny_kd_grads.safetensors"))
    print("tiny kd: kd %.6f kdsoft %.6f kdsw %.6f kdml %.6f hcos %.6f both %.6f head-loss %.6f" %
          (out["kd.loss"], out["kdsoft.loss"], out["kdsw.loss"], out["kdml.loss"], out["hcos.loss"],
           out["both.loss"], out["head.loss"]))
    print("head grad", m.grad.tolist())


if __name__ == "__main__":
    main()
