#!/usr/bin/env python3
"""Reference fixtures for tl's BERT forward pass (tests/ref/bert/).

Run from the repository root after `make models`:
    python3 tests/ref/gen_bert.py [--data ../shared/data]

Uses Hugging Face transformers (PyTorch, fp32, eval mode) on
models/all-MiniLM-L6-v2 and writes:

  tests/ref/bert/minilm_ref.safetensors
      ids I32 [total], offsets I32 [n+1]     token ids (HF tokenizer, max 512)
      pooled F32 [n, C]                      BertModel pooler_output
      st_embed F32 [n, C]                    sentence-transformers encode()
                                             (mean pooling + normalize)
      logits F32 [n, 2]                      BertForSequenceClassification
      hidden_idx I32 [m], hidden F32 [sum len, C]
                                             full last_hidden_state of m records
      layer3_mean F32 [64, C]                mean of hidden_states[3], first 64
  tests/ref/bert/sample.jsonl                26 records for the bats tests:
                                             id, ids, st (sentence embedding),
                                             logits (the classifier's)
  tests/ref/bert/seqcls/                     the classification model, minus
                                             the 90 MB encoder: config.json,
                                             model.safetensors.index.json, and
                                             model-00002-of-00002.safetensors
                                             (classifier.weight/bias). Shard 1
                                             is models/all-MiniLM-L6-v2's
                                             model.safetensors, linked in at
                                             test time (tests/ref/bert/mkseqcls.sh).

n = 872 SST-2 dev sentences + 200 IMDB test reviews (every 125th, cut to
512 tokens by the tokenizer): 1072 records.
"""
import argparse
import gzip
import json
import os
import shutil
import tempfile

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModel, AutoTokenizer, BertForSequenceClassification

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data")
ap.add_argument("--model", default="models/all-MiniLM-L6-v2")
ap.add_argument("--out", default="tests/ref/bert")
args = ap.parse_args()
torch.set_num_threads(2)
torch.manual_seed(0)

texts = []
with open(os.path.join(args.data, "sst2/dev.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        texts.append(line.rstrip("\n").split("\t")[0])
nsst = len(texts)
with gzip.open(os.path.join(args.data, "imdb/test.tsv.gz"), "rt", encoding="utf-8") as f:
    next(f)
    for i, line in enumerate(f):
        if i % 125 == 0:
            texts.append(line.rstrip("\n").split("\t")[0])
n = len(texts)

tok = AutoTokenizer.from_pretrained(args.model)
enc = [tok(t, truncation=True, max_length=512)["input_ids"] for t in texts]
lens = np.array([len(e) for e in enc])
model = AutoModel.from_pretrained(args.model).eval()
C = model.config.hidden_size

cls = BertForSequenceClassification.from_pretrained(
    args.model, num_labels=2, id2label={0: "negative", 1: "positive"},
    label2id={"negative": 0, "positive": 1}).eval()

pooled = np.zeros((n, C), np.float32)
mean3 = np.zeros((64, C), np.float32)
logits = np.zeros((n, 2), np.float32)
hidden_idx = list(range(16)) + [int(nsst + i) for i in np.argsort(-lens[nsst:])[:3]] + \
    [nsst + i for i in (5, 50, 150)]
hidden = {}
order = np.argsort(lens, kind="stable")
with torch.no_grad():
    for s in range(0, n, 16):
        idx = order[s:s + 16]
        batch = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")
        out = model(**batch, output_hidden_states=True)
        lg = cls(**batch).logits
        for b, i in enumerate(idx):
            L = lens[i]
            pooled[i] = out.pooler_output[b].numpy()
            logits[i] = lg[b].numpy()
            if i in hidden_idx:
                hidden[i] = out.last_hidden_state[b, :L].numpy().copy()
            if i < 64:
                mean3[i] = out.hidden_states[3][b, :L].mean(0).numpy()

from sentence_transformers import SentenceTransformer  # noqa: E402
st = SentenceTransformer(args.model, device="cpu")
st.max_seq_length = 512
st_embed = st.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False).astype(np.float32)
# all-MiniLM-L6-v2's pipeline ends with Normalize: check it did
assert np.allclose(np.linalg.norm(st_embed, axis=1), 1, atol=1e-5)
# and that it tokenized as we did
for i in (0, nsst, n - 1):
    assert st.tokenize([texts[i]])["input_ids"].shape[1] == lens[i]

os.makedirs(args.out, exist_ok=True)
offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
save_file({
    "ids": np.concatenate([np.array(e, np.int32) for e in enc]),
    "offsets": offsets,
    "pooled": pooled, "st_embed": st_embed, "logits": logits,
    "hidden_idx": np.array(hidden_idx, np.int32),
    "hidden": np.concatenate([hidden[i] for i in hidden_idx]).astype(np.float32),
    "layer3_mean": mean3,
}, os.path.join(args.out, "minilm_ref.safetensors"))

with open(os.path.join(args.out, "sample.jsonl"), "w") as f:
    for i in list(range(24)) + [hidden_idx[16], hidden_idx[20]]:
        rec = {"id": int(i), "ids": enc[i], "st": [float("%.7g" % v) for v in st_embed[i]],
               "ref_logits": [float("%.7g" % v) for v in logits[i]]}
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")

# the classification directory: save_pretrained, then keep only the head
d = os.path.join(args.out, "seqcls")
with tempfile.TemporaryDirectory() as tmp:
    cls.save_pretrained(tmp)
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(tmp, "config.json"), d)
head = {k: v.numpy() for k, v in cls.state_dict().items() if k.startswith("classifier.")}
save_file(head, os.path.join(d, "model-00002-of-00002.safetensors"))
from safetensors import safe_open  # noqa: E402
with safe_open(os.path.join(args.model, "model.safetensors"), "np") as f:
    enc_names = list(f.keys())
wm = {k: "model-00001-of-00002.safetensors" for k in enc_names}
wm.update({k: "model-00002-of-00002.safetensors" for k in head})
with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"note": "shard 1 is models/all-MiniLM-L6-v2/model.safetensors"},
               "weight_map": dict(sorted(wm.items()))}, f, indent=1)
print("records", n, "sst2", nsst, "max len", lens.max(), "tokens", lens.sum(),
      "hidden rows", sum(len(hidden[i]) for i in hidden_idx))
