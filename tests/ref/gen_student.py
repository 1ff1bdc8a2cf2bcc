"""Reference for tests/unit/test_student.c: a DistilBERT-style student of
the tiny random BERT (tests/ref/tiny_bert, 2 layers) made by keeping some of
its encoder layers, run by Hugging Face transformers.

For each kept list ([1] and [0, 1]) the encoder's layer ModuleList is cut to
those layers (config.num_hidden_layers set to match), the model run in eval
mode (no dropout) on a fixed padded batch, and the classifier logits [B, 3]
and last hidden state [B, T, 16] written to tests/ref/tiny_student.safetensors
as student1_logits / student1_hidden and student01_logits /
student01_hidden, with the batch (ids [B, T] int32, lens [B] int32).

usage: python3 tests/ref/gen_student.py   (from the repository root)
"""
import torch
from safetensors.torch import save_file
from transformers import BertForSequenceClassification

torch.manual_seed(0)
model = BertForSequenceClassification.from_pretrained("tests/ref/tiny_bert").eval()
B, T = 4, 9
g = torch.Generator().manual_seed(17)
lens = torch.tensor([9, 5, 7, 3], dtype=torch.int32)
ids = torch.zeros(B, T, dtype=torch.int32)
for b in range(B):
    n = int(lens[b])
    ids[b, 0] = 2
    ids[b, 1:n - 1] = torch.randint(5, 40, (n - 2,), generator=g, dtype=torch.int32)
    ids[b, n - 1] = 3
mask = (torch.arange(T)[None, :] < lens[:, None]).long()
out = {"ids": ids.contiguous(), "lens": lens.contiguous()}
layers = list(model.bert.encoder.layer)
for name, keep in (("student1", [1]), ("student01", [0, 1])):
    model.bert.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    model.config.num_hidden_layers = len(keep)
    with torch.no_grad():
        r = model(input_ids=ids.long(), attention_mask=mask, output_hidden_states=True)
    out[name + "_logits"] = r.logits.float().contiguous()
    out[name + "_hidden"] = r.hidden_states[-1].float().contiguous()
save_file(out, "tests/ref/tiny_student.safetensors")
print({k: tuple(v.shape) for k, v in out.items()})
