#!/usr/bin/env python3
"""Reference fixture for loading head-pruned BERT models (tests/unit/test_prune.c).

Head pruning (model.prune_heads, config.json "pruned_heads") exists in
transformers 4.x only: transformers 5 removed it. Run with transformers 4.57:
    python3 -m venv --system-site-packages /tmp/tf4 && /tmp/tf4/bin/pip install transformers==4.57.6
    /tmp/tf4/bin/python tests/ref/gen_prune.py

Writes tests/ref/pruned_bert/: a tiny random BertForSequenceClassification
(hidden 64, 4 heads of 16, 4 layers, intermediate 96, 2 labels) pruned with
    model.prune_heads({0: [1, 2], 2: [0, 1, 3], 3: [0]})
(layer 1 keeps its 4 heads, layer 2 keeps one) and saved with
save_pretrained, plus vocab.txt, and ref.safetensors:
    ids I32 [B, T], type_ids I32 [B, T], lens I32 [B]
    hidden F32 [B, T, 64]   last_hidden_state (padding rows not compared)
    hidden2 F32 [B, T, 64]  hidden_states[2]
    pooled F32 [B, 64]      pooler output
    logits F32 [B, 2]       classifier logits
    tiny_ids I32 [6, 8], tiny_lens, tiny_labels I32 [6]
    tiny_importance F32 [2, 2], tiny_normalized F32 [2, 2]
                            head importance of tests/ref/tiny_bert on those
                            records in batches of 4 and 2 (sum over batches
                            of |d mean CE / d head_mask|; rows / their L2 norm)
    written_logits F32 [B, 2]  the fixture with head 1 of layer 3 pruned too
                            and layer 1 removed (tl_bert_prune_write's case)
A layer with every head pruned is not in the fixture: transformers 4.57
cannot run one (view of a 0-element tensor fails), and tl refuses it.
"""
import os

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pruned_bert")
PRUNE = {0: [1, 2], 2: [0, 1, 3], 3: [0]}

torch.manual_seed(4321)
cfg = BertConfig(vocab_size=50, hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                 intermediate_size=96, max_position_embeddings=32, type_vocab_size=2, num_labels=2,
                 hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.2)
model = BertForSequenceClassification(cfg)
with torch.no_grad():
    for n, p in model.named_parameters():
        if n.endswith("bias") or "LayerNorm" in n:
            p.add_(0.1 * torch.randn_like(p))
model.eval()
model.prune_heads(PRUNE)
model.config.id2label = {0: "neg", 1: "pos"}
model.config.label2id = {"neg": 0, "pos": 1}
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT, safe_serialization=True)
with open(os.path.join(OUT, "vocab.txt"), "w") as f:
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(45)]
    f.write("\n".join(toks) + "\n")

# reload as a user would: from the directory, pruning from config.json
model = BertForSequenceClassification.from_pretrained(OUT, attn_implementation="eager").eval()
seqs = [[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 10, 41, 42, 43, 44, 45, 46, 47, 48, 3],
        [2, 49, 38, 3], [2] + list(range(5, 29)) + [3], [2, 17, 3, 18, 19, 3]]
B, T = len(seqs), max(len(s) for s in seqs)
ids = torch.zeros(B, T, dtype=torch.long)
mask = torch.zeros(B, T, dtype=torch.long)
types = torch.zeros(B, T, dtype=torch.long)
for b, s in enumerate(seqs):
    ids[b, :len(s)] = torch.tensor(s)
    mask[b, :len(s)] = 1
types[5, 3:6] = 1
with torch.no_grad():
    o = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
    pooled = model.bert.pooler(o.hidden_states[-1])
save_file({"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(),
           "hidden": o.hidden_states[-1].contiguous(), "hidden2": o.hidden_states[2].contiguous(),
           "pooled": pooled.contiguous(), "logits": o.logits.contiguous()},
          os.path.join(OUT, "ref.safetensors"))
print("pruned_bert: %d sequences, logits[0] %s" % (B, o.logits[0].tolist()))

# ---- head importance (tl_bert_importance_batch) on tests/ref/tiny_bert ----
# Michel et al. 2019 as transformers' bertology example computes it: per
# batch, the mean cross-entropy's gradient with respect to a head mask of
# ones, its absolute value summed over batches; then each layer's row
# divided by its L2 norm (+ 1e-20).
tiny = BertForSequenceClassification.from_pretrained(os.path.join(HERE, "tiny_bert"), attn_implementation="eager").eval()
tseqs = [[2, 7, 9, 11, 3], [2, 20, 3], [2, 5, 6, 7, 8, 9, 10, 3], [2, 39, 38, 3], [2, 30, 31, 3], [2, 8, 3]]
tlabels = [0, 2, 1, 2, 1, 0]
imp = torch.zeros(2, 2, dtype=torch.float64)
for lo, hi in [(0, 4), (4, 6)]:
    s = tseqs[lo:hi]
    T2 = max(len(x) for x in s)
    ti = torch.zeros(len(s), T2, dtype=torch.long)
    tm = torch.zeros(len(s), T2, dtype=torch.long)
    for b, x in enumerate(s):
        ti[b, :len(x)] = torch.tensor(x)
        tm[b, :len(x)] = 1
    hm = torch.ones(2, 2, requires_grad=True)
    out = tiny(input_ids=ti, attention_mask=tm, head_mask=hm, labels=torch.tensor(tlabels[lo:hi]))
    out.loss.backward()
    imp += hm.grad.abs().double()
norm = imp / (imp.pow(2).sum(-1, keepdim=True).sqrt() + 1e-20)
tids = torch.zeros(len(tseqs), 8, dtype=torch.int32)
for b, x in enumerate(tseqs):
    tids[b, :len(x)] = torch.tensor(x)

# ---- tl_bert_prune_write on the fixture: head 1 of layer 3 and layer 1 go ----
# (layers renumbered: 0, 2, 3 -> 0, 1, 2; pruned_heads the union)
pm = BertForSequenceClassification.from_pretrained(OUT, attn_implementation="eager").eval()
pm.prune_heads({3: [1]})
pm.bert.encoder.layer = torch.nn.ModuleList([pm.bert.encoder.layer[i] for i in (0, 2, 3)])
with torch.no_grad():
    lw = pm(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
save_file({"ids": ids.int(), "type_ids": types.int(), "lens": mask.sum(1).int(),
           "hidden": o.hidden_states[-1].contiguous(), "hidden2": o.hidden_states[2].contiguous(),
           "pooled": pooled.contiguous(), "logits": o.logits.contiguous(),
           "tiny_ids": tids, "tiny_lens": torch.tensor([len(x) for x in tseqs], dtype=torch.int32),
           "tiny_labels": torch.tensor(tlabels, dtype=torch.int32),
           "tiny_importance": imp.float(), "tiny_normalized": norm.float(),
           "written_logits": lw.contiguous()},
          os.path.join(OUT, "ref.safetensors"))
print("tiny importance %s, normalized %s" % (imp.tolist(), norm.tolist()))
