"""PyTorch sequence classifiers over windows of feature rows: a causal temporal CNN and an
LSTM. CPU, deterministic under a seed, early stopping on a validation fold.

Inputs are ``X[n, L, F]`` (the last ``L`` bars' features up to each event). Per-feature
mean and standard deviation are fitted on the training rows only and stored with the
weights; missing values become 0 after scaling (the training mean).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from framework.ml.models import check_params
from framework.types.errors import FwError


class _TCN(nn.Module):
    """Two dilated causal convolutions; the last time step feeds a linear head."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.c1 = nn.Conv1d(n_features, hidden, kernel_size=3, dilation=1)
        self.c2 = nn.Conv1d(hidden, hidden, kernel_size=3, dilation=2)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [n, L, F]
        h = x.transpose(1, 2)
        h = torch.relu(self.c1(nn.functional.pad(h, (2, 0))))  # left pad: causal
        h = torch.relu(self.c2(nn.functional.pad(h, (4, 0))))
        return self.head(h[:, :, -1]).squeeze(-1)


class _LSTM(nn.Module):
    """One LSTM layer; the last hidden state feeds a linear head."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.rnn = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


class SequenceModel:
    """``torch_tcn`` or ``torch_lstm``; params: ``seq_len`` (bars), ``hidden``, ``epochs``,
    ``lr``, ``batch``, ``patience`` (epochs without validation improvement)."""

    def __init__(self, kind: str, seed: int = 0, params: dict | None = None):
        if kind not in ("torch_tcn", "torch_lstm"):
            raise FwError(f"unknown torch model kind {kind!r}")
        self.kind, self.seed = kind, seed
        defaults = {"seq_len": 16, "hidden": 16, "epochs": 30, "lr": 3e-3, "batch": 256,
                    "patience": 5}
        self.params = defaults | check_params(kind, dict(params or {}), tuple(defaults))
        self.seq_len = int(self.params["seq_len"])
        self.net: nn.Module | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def _build(self, n_features: int) -> nn.Module:
        torch.manual_seed(self.seed)
        cls = _TCN if self.kind == "torch_tcn" else _LSTM
        return cls(n_features, int(self.params["hidden"]))

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        z = (np.asarray(X, dtype=np.float64) - self.mean) / self.std
        return torch.from_numpy(np.nan_to_num(z, nan=0.0).astype(np.float32))

    def fit(self, X, y, w=None, X_val=None, y_val=None) -> SequenceModel:
        """Fit on ``X[n, L, F]``; stop early on the loss of ``(X_val, y_val)`` if given."""
        flat = np.asarray(X, dtype=np.float64).reshape(-1, X.shape[-1])
        self.mean = np.nan_to_num(np.nanmean(flat, axis=0))
        sd = np.nanstd(flat, axis=0)
        self.std = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        torch.use_deterministic_algorithms(True)
        gen = torch.Generator().manual_seed(self.seed)
        net = self._build(X.shape[-1])
        opt = torch.optim.Adam(net.parameters(), lr=float(self.params["lr"]))
        xt, yt = self._tensor(X), torch.from_numpy(np.asarray(y, dtype=np.float32))
        wt = torch.from_numpy(np.ones(len(y), np.float32) if w is None
                              else np.asarray(w, dtype=np.float32))
        val = None if X_val is None else (self._tensor(X_val),
                                          torch.from_numpy(np.asarray(y_val, np.float32)))
        best, best_state, stale = np.inf, None, 0
        for _ in range(int(self.params["epochs"])):
            net.train()
            for b in torch.randperm(len(yt), generator=gen).split(int(self.params["batch"])):
                opt.zero_grad()
                loss = (nn.functional.binary_cross_entropy_with_logits(
                    net(xt[b]), yt[b], reduction="none") * wt[b]).sum() / wt[b].sum()
                loss.backward()
                opt.step()
            if val is None:
                continue
            net.eval()
            with torch.no_grad():
                vloss = float(nn.functional.binary_cross_entropy_with_logits(net(val[0]),
                                                                             val[1]))
            if vloss < best - 1e-6:
                best, stale = vloss, 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= int(self.params["patience"]):
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net = net.eval()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(label 1) for each window of ``X[n, L, F]``."""
        with torch.no_grad():
            return torch.sigmoid(self.net(self._tensor(X))).double().numpy()

    def save(self, path: Path) -> None:
        """``model.json`` (kind, seed, params, scaler) and ``model.pt`` (weights)."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "model.json").write_text(json.dumps(
            {"kind": self.kind, "seed": self.seed, "params": self.params,
             "n_features": int(self.mean.shape[0]), "mean": self.mean.tolist(),
             "std": self.std.tolist()}, sort_keys=True))
        buf = io.BytesIO()
        torch.save(self.net.state_dict(), buf)
        (path / "model.pt").write_bytes(buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> SequenceModel:
        """Inverse of :meth:`save`."""
        meta = json.loads((path / "model.json").read_text())
        model = cls(meta["kind"], meta["seed"], meta["params"])
        model.mean, model.std = np.asarray(meta["mean"]), np.asarray(meta["std"])
        model.net = model._build(meta["n_features"])
        model.net.load_state_dict(torch.load(path / "model.pt", weights_only=True))
        model.net.eval()
        return model
