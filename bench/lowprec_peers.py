#!/usr/bin/env python3
"""Low-precision peers of bench/lowprec.sh: PyTorch and ONNX Runtime on the same
token ids as tl-embed, batched exactly as tl-embed batches them.

usage: lowprec_peers.py IDS.jsonl MODEL_DIR --engine E[,E...] --threads N
                        [--batch-size 32] [--order tl|input] [--cache DIR]
                        [--save-emb PREFIX]
       lowprec_peers.py - MODEL_DIR --prepare [--cache DIR]   (only make the ONNX files)
engines:
  torch-fp32           AutoModel in fp32
  torch-bf16-autocast  torch.autocast("cpu", dtype=torch.bfloat16) around the fp32 model
  torch-bf16           the model's weights cast with .to(torch.bfloat16)
  ort-fp32             onnxruntime on torch.onnx.export of the encoder (outputs
                       last_hidden_state), then onnxruntime.transformers.optimizer.
                       optimize_model(model_type="bert")
  ort-int8             quantize_dynamic(per_channel=True, weight_type=QInt8) of
                       that optimized graph (activations quantized per tensor at
                       run time, as ORT's dynamic quantization does)
The ONNX files are made once and kept in --cache (default out/lowprec/onnx,
git-ignored); their making is not timed.

IDS.jsonl: one JSON object a line with "ids" (a tl-tokenize stream shown by
tl-cat), so every engine sees tl's very ids.

Batching (--order tl, the default): as tl-embed -b B: records in windows of
32*B, each window sorted by (length, input position), cut into batches of B
from the shortest; each batch padded to its longest sequence (dynamic
padding). --order input: batches of B in input order, padded likewise.

Work per batch, as `tl-embed --normalize`: the encoder, mean pooling over the
real tokens, L2 normalization. token_type_ids are all 0 (tl-embed's default
without "type_ids").

Prints one line per engine:
  peer engine=E threads=N n=SEQS tokens=REAL_TOKENS padded=PADDED_TOKENS seconds=S cpu_seconds=C
seconds (wall) and cpu_seconds (the process's CPU time, all threads): the forward loop only (model loading, export and quantization
excluded), after one untimed warm-up batch (the longest) so that lazy
initialisation (oneDNN primitive creation, ORT's first-run allocations) is not
counted.
--save-emb PREFIX writes the embeddings in input order as PREFIX.E.npy (for
accuracy checks).
"""
import argparse
import json
import os
import sys
import time

ENGINES = ("torch-fp32", "torch-bf16-autocast", "torch-bf16", "ort-fp32", "ort-int8")


def batches(seqs, bs, order):
    """lists of input indices, as tl-embed forms its batches"""
    out = []
    if order == "input":
        for s in range(0, len(seqs), bs):
            out.append(list(range(s, min(s + bs, len(seqs)))))
        return out
    window = 32 * bs
    for w in range(0, len(seqs), window):
        idx = sorted(range(w, min(w + window, len(seqs))), key=lambda i: (len(seqs[i]), i))
        for s in range(0, len(idx), bs):
            out.append(idx[s:s + bs])
    return out


def pad(seqs, idx, np):
    T = max(len(seqs[i]) for i in idx)
    ids = np.zeros((len(idx), T), dtype=np.int64)
    mask = np.zeros((len(idx), T), dtype=np.int64)
    for r, i in enumerate(idx):
        ids[r, :len(seqs[i])] = seqs[i]
        mask[r, :len(seqs[i])] = 1
    return ids, mask


def onnx_files(model_dir, cache):
    """(optimized fp32 path, int8 path), made once"""
    import torch
    from transformers import AutoConfig, AutoModel

    os.makedirs(cache, exist_ok=True)
    raw = os.path.join(cache, "encoder.onnx")
    opt = os.path.join(cache, "encoder.opt.onnx")
    q8 = os.path.join(cache, "encoder.opt.int8.onnx")
    cfg = AutoConfig.from_pretrained(model_dir)
    if not os.path.exists(raw):
        # eager attention: the mask arithmetic ORT's Attention fusion
        # recognizes (the SDPA path's mask graph leaves attention unfused)
        m = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

        class Enc(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

        x = torch.ones(2, 16, dtype=torch.long)
        args = (x, x, torch.zeros_like(x))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "seq"}
        kw = dict(input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17)
        try:  # the TorchScript exporter: the graph ORT's BERT fusions expect
            torch.onnx.export(Enc(m), args, raw + ".tmp", dynamo=False, **kw)
        except TypeError:  # a torch without the dynamo argument
            torch.onnx.export(Enc(m), args, raw + ".tmp", **kw)
        os.replace(raw + ".tmp", raw)
    if not os.path.exists(opt):
        from onnxruntime.transformers.optimizer import optimize_model
        om = optimize_model(raw, model_type="bert", num_heads=cfg.num_attention_heads,
                            hidden_size=cfg.hidden_size)
        print(f"lowprec_peers: ort optimizer fused ops: {om.get_fused_operator_statistics()}", file=sys.stderr)
        om.save_model_to_file(opt + ".tmp.onnx")
        os.replace(opt + ".tmp.onnx", opt)
    if not os.path.exists(q8):
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        # the fused graph's com.microsoft ops defeat ONNX shape inference:
        # tensors of unknown type are float
        quantize_dynamic(opt, q8 + ".tmp.onnx", per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(q8 + ".tmp.onnx", q8)
    return opt, q8


def run_torch(engine, seqs, plan, model_dir, threads, np):
    import torch
    from transformers import AutoModel

    torch.set_num_threads(threads)
    m = AutoModel.from_pretrained(model_dir).eval()
    if engine == "torch-bf16":
        m = m.to(torch.bfloat16)

    def fwd(idx):
        ids, mask = pad(seqs, idx, np)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        if engine == "torch-bf16-autocast":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                h = m(input_ids=ids, attention_mask=mask).last_hidden_state
        else:
            h = m(input_ids=ids, attention_mask=mask).last_hidden_state
        h = h.float()
        mk = mask.unsqueeze(-1).float()
        v = (h * mk).sum(1) / mk.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(v, p=2, dim=1).numpy()

    with torch.inference_mode():
        fwd(plan[-1])  # warm-up, untimed
        out = {}
        t0, c0 = time.perf_counter(), time.process_time()
        for idx in plan:
            v = fwd(idx)
            for r, i in enumerate(idx):
                out[i] = v[r]
        return time.perf_counter() - t0, time.process_time() - c0, out


def run_ort(engine, seqs, plan, model_dir, threads, cache, np):
    import onnxruntime as ort

    opt, q8 = onnx_files(model_dir, cache)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(q8 if engine == "ort-int8" else opt, so, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in sess.get_inputs()}

    def fwd(idx):
        ids, mask = pad(seqs, idx, np)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        h = sess.run(None, {k: v for k, v in feed.items() if k in inputs})[0]
        mk = mask[:, :, None].astype(np.float32)
        v = (h * mk).sum(1) / np.maximum(mk.sum(1), 1e-9)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    fwd(plan[-1])
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for idx in plan:
        v = fwd(idx)
        for r, i in enumerate(idx):
            out[i] = v[r]
    return time.perf_counter() - t0, time.process_time() - c0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ids")
    ap.add_argument("model")
    ap.add_argument("--engine", default="", help="comma-separated: " + ",".join(ENGINES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--order", choices=("tl", "input"), default="tl")
    ap.add_argument("--cache", default="out/lowprec/onnx")
    ap.add_argument("--save-emb")
    ap.add_argument("--prepare", action="store_true", help="only make the ONNX files")
    a = ap.parse_args()
    import numpy as np

    if a.prepare:
        print("\n".join(onnx_files(a.model, a.cache)))
        return
    if not a.engine:
        sys.exit("lowprec_peers.py: --engine E[,E...] is required (or --prepare)")
    engines = a.engine.split(",")
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"lowprec_peers.py: unknown engine {e!r} (one of {', '.join(ENGINES)})")
    seqs = []
    with open(a.ids) as f:
        for line in f:
            r = json.loads(line)
            if "ids" in r:  # header records carry no ids
                seqs.append(r["ids"])
    if not seqs:
        sys.exit(f"lowprec_peers.py: {a.ids}: no records with \"ids\"")
    plan = batches(seqs, a.batch_size, a.order)
    tokens = sum(len(q) for q in seqs)
    padded = sum(len(idx) * max(len(seqs[i]) for i in idx) for idx in plan)
    for e in engines:
        if e.startswith("torch"):
            dt, cpu, out = run_torch(e, seqs, plan, a.model, a.threads, np)
        else:
            dt, cpu, out = run_ort(e, seqs, plan, a.model, a.threads, a.cache, np)
        if a.save_emb:
            np.save(f"{a.save_emb}.{e}.npy", np.stack([out[i] for i in range(len(seqs))]).astype(np.float32))
        print(f"peer engine={e} threads={a.threads} n={len(seqs)} tokens={tokens} padded={padded} seconds={dt:.4f} "
              f"cpu_seconds={cpu:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
