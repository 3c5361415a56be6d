#!/usr/bin/python3
"""Heatlens against the Python "anchor" libraries, side by side, on the same TorchScript file.

Times `heatlens-cli explain` (the method's own time from the JSON it writes, and the wall time
of the one-shot process) against Captum 0.8 and pytorch-grad-cam on the same model, the same
image and the same parameters, checks that both explain the same input (predicted
probabilities) with the same computation (Pearson correlation of the two maps), and prints
Heatlens time / anchor time (< 1: Heatlens is faster).

Usage (Debian's /usr/bin/python3, which has python3-torch; not a pyenv python3):
  /usr/bin/python3 tests/bench/anchors_side_by_side.py [--anchors DIR] [--models resnet18,vit_b_16]
      [--methods saliency,integrated-gradients,smoothgrad,occlusion,grad-cam,score-cam]
      [--repeat 3] [--threads 2] [--quick] [--search staged|full] [--json OUT]
      [--cli build/app/heatlens-cli] [--fixtures build/fixtures] [--image PNG]
      [--vit-head random|fixture] [--vit-cam-layer ln_1|block]
      [--anchor-omp-wait-policy inherit|PASSIVE|ACTIVE] [--keep]

Needs, under --anchors DIR (default $HEATLENS_ANCHORS, else /tmp/anchors), checkouts of
pytorch/captum (DIR/captum), jacobgil/pytorch-grad-cam (DIR/pytorch-grad-cam) and qubvel/ttach
(DIR/ttach), and the Debian packages python3-torch python3-torchvision python3-opencv
python3-tqdm python3-matplotlib python3-sklearn python3-scipy python3-skimage python3-pil.

What is timed
  Heatlens: one warm-up process per method, then --repeat processes; "method" is
    timings_seconds.method of the JSON, "one-shot wall" the wall time of the whole process
    (start to files written).
  Anchor: one Python process per model; per configuration one warm-up call, then the median of
    --repeat calls. Configurations: torch.set_num_threads(--threads) and PyTorch's default
    thread count; Captum on the TorchScript module and on the eager torchvision model (the
    TorchScript file's state_dict loaded into it); parameters with requires_grad True (as
    loaded) and False; Occlusion perturbations_per_eval 1 (Captum's default), 16, 32;
    Score-CAM batch 16 (pytorch-grad-cam's default) and 32 (Heatlens' default). The fastest is
    the anchor. --search staged (default) varies one factor at a time from the user's default,
    keeping the best so far; --search full times every combination.
  Time to first heatmap: a fresh `heatlens-cli explain --method saliency` process against a
    fresh `python3 -c` that imports torch and captum, loads the TorchScript model and the
    image, computes Saliency, writes a .npy and a PNG overlay (median of 3 each).

Notes
  torchvision's ViT initialises its head to zero, so the vit_b_16 fixture (random weights)
  outputs constant logits: every gradient and occlusion map is zero and cannot be compared.
  --vit-head random (default) explains a copy of the fixture (written to the work folder, both
  sides use it) whose head has random weights; the cost of every method is unchanged.
  --vit-head fixture uses the file as it is.
  Grad-CAM on the output of the last ViT block is zero for torchvision's ViT whatever the
  weights (only the CLS token reaches the head), so --vit-cam-layer ln_1 (default; the layer
  of pytorch-grad-cam's ViT tutorial) taps encoder.layers.encoder_layer_11.ln_1 on both sides;
  --vit-cam-layer block taps encoder.layers.encoder_layer_11 / model.encoder.layers[-1].
"""

import argparse
import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_IMAGE = "/usr/lib/python3/dist-packages/skimage/data/chelsea.png"
FALLBACK_IMAGES = ["astronaut.png", "coffee.png", "motorcycle_left.png", "rocket.jpg"]
ANCHOR_DIRS = ["captum", "pytorch-grad-cam", "ttach"]
DEBIAN_PACKAGES = ("python3-torch python3-torchvision python3-opencv python3-tqdm "
                   "python3-matplotlib python3-sklearn python3-scipy python3-skimage python3-pil")
ALL_METHODS = ["saliency", "integrated-gradients", "smoothgrad", "occlusion", "grad-cam",
               "score-cam"]
MODEL_METHODS = {
    "resnet18": ALL_METHODS,
    "vit_b_16": ["saliency", "integrated-gradients", "occlusion", "grad-cam", "score-cam"],
}
MODEL_FILES = {"resnet18": "resnet18_traced.pt", "vit_b_16": "vit_b_16_traced.pt"}
CORRELATION_WARNING = 0.9

# The parameters, identical on both sides. Heatlens: --param k=v. Anchor: see anchor_call().
IG_STEPS = 50
SG_SAMPLES = 25
SG_NOISE = 0.15  # Heatlens' default noise fraction of (input max - input min)
OCC_WINDOW, OCC_STRIDE = 32, 16


def heatlens_params(method, cam_layer):
    return {
        "saliency": {"abs": "true"},
        "integrated-gradients": {"steps": str(IG_STEPS), "baseline": "zero",
                                 "rule": "gauss-legendre"},
        "smoothgrad": {"base": "saliency", "variant": "smoothgrad",
                       "samples": str(SG_SAMPLES), "noise": str(SG_NOISE)},
        "occlusion": {"window": str(OCC_WINDOW), "stride": str(OCC_STRIDE), "baseline": "zero"},
        "grad-cam": {"layer": cam_layer},
        "score-cam": {"layer": cam_layer},
    }[method]


def cam_layers(model, vit_cam_layer):
    """(Heatlens layer path, description of the pytorch-grad-cam target layer)."""
    if model == "resnet18":
        return "layer4", "model.layer4[-1]"
    if vit_cam_layer == "block":
        return "encoder.layers.encoder_layer_11", "model.encoder.layers[-1]"
    return "encoder.layers.encoder_layer_11.ln_1", "model.encoder.layers[-1].ln_1"


# ----------------------------------------------------------------------------------------------
# Shared helpers (main process and worker)


def median(values):
    return statistics.median(values) if values else float("nan")


def load_input(path, height, width):
    """Heatlens' preprocessing for a model without a card: decode unchanged, BGR(A) -> RGB,
    stretch to the input size (cv::resize INTER_LINEAR on the 8/16-bit pixels), scale to [0, 1],
    no normalisation. Returns (float32 [1, 3, H, W] array, the decoded BGR image)."""
    import cv2
    import numpy as np

    decoded = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise RuntimeError("cannot read image " + path)
    if decoded.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif decoded.dtype == np.uint16:
        scale = 1.0 / 65535.0
    else:
        raise RuntimeError("%s: unsupported depth %s" % (path, decoded.dtype))
    if decoded.ndim == 2:
        rgb = cv2.cvtColor(decoded, cv2.COLOR_GRAY2RGB)
    elif decoded.shape[2] == 3:
        rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    elif decoded.shape[2] == 4:
        rgb = cv2.cvtColor(cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA), cv2.COLOR_RGBA2RGB)
    else:
        raise RuntimeError("%s: unsupported channel count" % path)
    fitted = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    unit = fitted.astype(np.float32) * np.float32(scale)
    return np.ascontiguousarray(unit.transpose(2, 0, 1)[None]), decoded


def pearson_abs(a, b):
    import numpy as np

    a = np.abs(np.asarray(a, dtype=np.float64)).ravel()
    b = np.abs(np.asarray(b, dtype=np.float64)).ravel()
    if a.shape != b.shape:
        return None, "shapes differ: %s vs %s" % (a.shape, b.shape)
    if a.std() == 0 or b.std() == 0:
        return None, "constant map (%s)" % ("both" if a.std() == b.std() else
                                           "Heatlens" if a.std() == 0 else "anchor")
    return float(np.corrcoef(a, b)[0, 1]), None


def add_anchor_paths(anchors):
    for name in reversed(ANCHOR_DIRS):
        path = os.path.join(anchors, name)
        if path not in sys.path:
            sys.path.insert(0, path)


def check_anchors(anchors):
    """None when everything imports, else the error."""
    add_anchor_paths(anchors)
    try:
        import numpy  # noqa: F401
        import cv2  # noqa: F401
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        import tqdm  # noqa: F401
        import ttach  # noqa: F401
        import captum.attr  # noqa: F401
        from pytorch_grad_cam import GradCAM, ScoreCAM  # noqa: F401
    except Exception as e:  # ImportError, or a broken checkout
        return "%s: %s" % (type(e).__name__, e)
    return None


def needs_message(anchors, error):
    return textwrap.dedent("""\
        anchors_side_by_side: cannot import the anchor libraries ({error}).
        It needs, with Debian's /usr/bin/python3 (python: {python}):
          - the public GitHub repositories checked out under {anchors}:
              pytorch/captum            -> {anchors}/captum            (import captum.attr)
              jacobgil/pytorch-grad-cam -> {anchors}/pytorch-grad-cam  (from pytorch_grad_cam import GradCAM)
              qubvel/ttach              -> {anchors}/ttach             (import ttach)
            (--anchors DIR or HEATLENS_ANCHORS chooses the folder; each subfolder goes on sys.path)
          - the Debian packages: {packages}
        """).format(error=error, python=sys.executable, anchors=anchors,
                    packages=DEBIAN_PACKAGES)


def blas_threads():
    """OpenBLAS' thread count in this process, when it can be asked; else None."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower()}
        for lib in sorted(libs):
            handle = ctypes.CDLL(lib)
            if hasattr(handle, "openblas_get_num_threads"):
                return int(handle.openblas_get_num_threads())
    except Exception:
        pass
    return None


# ----------------------------------------------------------------------------------------------
# Anchor worker: one process per model


def build_eager(kind):
    import torchvision

    if kind == "resnet18":
        return torchvision.models.resnet18(weights=None, num_classes=10)
    if kind == "vit_b_16":
        return torchvision.models.vit_b_16(weights=None, num_classes=10)
    raise ValueError(kind)


def vit_reshape_transform(tensor, height=14, width=14):
    # pytorch-grad-cam's ViT tutorial: drop the CLS token, tokens -> 14x14 grid, channels first.
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def set_requires_grad(module, flag):
    for p in module.parameters():
        p.requires_grad_(flag)


def method_factors(method, default_threads, threads):
    """Ordered (factor, values) per method; values[0] is what a user gets by default."""
    thread_values = [default_threads] if default_threads == threads else [default_threads, threads]
    captum = [("threads", thread_values), ("model", ["eager", "torchscript"])]
    if method in ("saliency", "integrated-gradients", "smoothgrad"):
        return captum + [("requires_grad", [True, False])]
    if method == "occlusion":  # Captum's FeatureAblation runs under torch.no_grad()
        return captum + [("perturbations_per_eval", [1, 16, 32])]
    if method == "grad-cam":  # needs parameters' gradients path: requires_grad stays True
        return [("threads", thread_values)]
    if method == "score-cam":
        return [("threads", thread_values), ("batch_size", [16, 32])]
    raise ValueError(method)


def config_label(method, cfg, default_threads):
    lib = "pytorch-grad-cam" if method in ("grad-cam", "score-cam") else "captum"
    parts = [lib, cfg.get("model", "eager")]
    t = cfg["threads"]
    parts.append("%d thread%s%s" % (t, "" if t == 1 else "s",
                                    " (torch default)" if t == default_threads else ""))
    if "requires_grad" in cfg:
        parts.append("requires_grad=%s" % cfg["requires_grad"])
    if "perturbations_per_eval" in cfg:
        parts.append("ppe=%d" % cfg["perturbations_per_eval"])
    if "batch_size" in cfg:
        parts.append("batch=%d%s" % (cfg["batch_size"], " (default)" if cfg["batch_size"] == 16
                                     else ""))
    return ", ".join(parts)


def worker_main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    add_anchor_paths(job["anchors"])
    import numpy as np
    import torch

    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency
    from pytorch_grad_cam import GradCAM, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    default_threads = torch.get_num_threads()
    default_blas = blas_threads()
    threads = job["threads"]
    kind = job["model"]
    log = lambda *a: print("  [anchor %s]" % kind, *a, flush=True)  # noqa: E731

    x_np, _ = load_input(job["image"], 224, 224)
    x = torch.from_numpy(x_np)
    ts = torch.jit.load(job["model_path"]).eval()
    eager = build_eager(kind)
    missing = eager.load_state_dict(ts.state_dict(), strict=True)
    eager.eval()
    with torch.no_grad():
        logits_ts = ts(x)
        logits_eager = eager(x)
    logit_diff = float((logits_ts - logits_eager).abs().max())
    probs = torch.softmax(logits_ts, 1)[0]
    target = int(probs.argmax())
    result = {
        "torch": torch.__version__, "default_threads": default_threads,
        "default_blas_threads": default_blas, "logit_max_abs_diff_eager_vs_torchscript": logit_diff,
        "state_dict_load": str(missing), "predicted_class": target,
        "predicted_probability": float(probs[target]),
        "logits_constant": bool(float(logits_ts.max() - logits_ts.min()) == 0.0),
        "methods": {},
    }
    log("torch %s, default threads %d (OpenBLAS %s), eager vs TorchScript logits max |diff| = "
        "%.3g %s" % (torch.__version__, default_threads, default_blas, logit_diff,
                     "(ok, < 1e-4)" if logit_diff < 1e-4 else "(WARNING: >= 1e-4)"))
    log("predicted class %d, p = %.7f" % (target, float(probs[target])))

    sigma = SG_NOISE * float(x.max() - x.min())
    zeros = torch.zeros_like(x)
    layer_of = {
        "resnet18": lambda m: m.layer4[-1],
        "vit_b_16": (lambda m: m.encoder.layers[-1]) if job["vit_cam_layer"] == "block"
        else (lambda m: m.encoder.layers[-1].ln_1),
    }[kind]
    reshape = vit_reshape_transform if kind == "vit_b_16" else None

    @contextlib.contextmanager
    def configured(method, cfg):
        """Yields call() -> map [H, W] (numpy) for this configuration."""
        torch.set_num_threads(cfg["threads"])
        fwd = ts if cfg.get("model", "eager") == "torchscript" else eager
        set_requires_grad(fwd, cfg.get("requires_grad", True))
        try:
            if method == "saliency":
                sal = Saliency(fwd)
                yield lambda: sal.attribute(x, target=target, abs=True)[0].max(0).values
            elif method == "integrated-gradients":
                ig = IntegratedGradients(fwd)
                yield lambda: ig.attribute(x, baselines=zeros, target=target, n_steps=IG_STEPS,
                                           method="gausslegendre")[0].sum(0)
            elif method == "smoothgrad":
                # Heatlens averages the signed gradients of the noisy copies and then takes
                # |.| max over channels (its saliency reduction): Captum's abs=False, reduced
                # the same way. (Captum's default abs=True would average |gradients|.)
                nt = NoiseTunnel(Saliency(fwd))
                yield lambda: nt.attribute(x, nt_type="smoothgrad", nt_samples=SG_SAMPLES,
                                           stdevs=sigma, target=target,
                                           abs=False)[0].abs().max(0).values
            elif method == "occlusion":
                occ = Occlusion(fwd)
                yield lambda: occ.attribute(
                    x, sliding_window_shapes=(3, OCC_WINDOW, OCC_WINDOW),
                    strides=(3, OCC_STRIDE, OCC_STRIDE), baselines=0, target=target,
                    perturbations_per_eval=cfg["perturbations_per_eval"])[0].mean(0)
            elif method in ("grad-cam", "score-cam"):
                cls = GradCAM if method == "grad-cam" else ScoreCAM
                targets = [ClassifierOutputTarget(target)]
                with cls(model=eager, target_layers=[layer_of(eager)],
                         reshape_transform=reshape) as cam:
                    if method == "score-cam" and cfg["batch_size"] != 16:
                        cam.batch_size = cfg["batch_size"]  # ScoreCAM reads self.batch_size
                    yield lambda: cam(input_tensor=x, targets=targets)[0]
            else:
                raise ValueError(method)
        finally:
            set_requires_grad(ts, True)
            set_requires_grad(eager, True)

    def run_config(method, cfg):
        with configured(method, cfg) as call:
            t0 = time.perf_counter()
            call()
            warmup = time.perf_counter() - t0
            times, out = [], None
            for _ in range(job["repeat"]):
                t0 = time.perf_counter()
                out = call()
                times.append(time.perf_counter() - t0)
        out = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
        return {"config": dict(cfg), "label": config_label(method, cfg, default_threads),
                "warmup": warmup, "times": times, "median": median(times),
                "torch_threads": cfg["threads"], "blas_threads": blas_threads()}, out

    for method in job["methods"]:
        factors = method_factors(method, default_threads, threads)
        names = [n for n, _ in factors]
        tried, maps = {}, {}

        def timed(cfg):
            key = tuple(cfg[n] for n in names)
            if key not in tried:
                r, m = run_config(method, cfg)
                tried[key], maps[key] = r, m
                log("%-21s %-62s median %.4f s (warm-up %.4f s)"
                    % (method, r["label"], r["median"], r["warmup"]))
            return tried[key]

        if job["search"] == "full":
            for values in itertools.product(*[v for _, v in factors]):
                timed(dict(zip(names, values)))
        else:  # staged: one factor at a time from the user's default, keeping the best
            best = {n: v[0] for n, v in factors}
            for name, values in factors:
                for v in values:
                    timed(dict(best, **{name: v}))
                best = min((r for r in tried.values()
                            if all(r["config"][n] == best[n] for n in names if n != name)),
                           key=lambda r: r["median"])["config"]
        user_default = tried[tuple(v[0] for _, v in factors)]
        winner_key = min(tried, key=lambda k: tried[k]["median"])
        winner = tried[winner_key]
        map_path = os.path.join(job["out"], "anchor-%s-%s.npy" % (kind, method))
        np.save(map_path, np.asarray(maps[winner_key], dtype=np.float32))
        entry = {"configs": list(tried.values()), "best": winner, "user_default": user_default,
                 "map": map_path}
        if method == "occlusion":
            ppe1 = [r for r in tried.values() if r["config"]["perturbations_per_eval"] == 1]
            entry["best_ppe_1"] = min(ppe1, key=lambda r: r["median"])
        if "requires_grad" in names:
            for flag in (True, False):
                rs = [r for r in tried.values() if r["config"]["requires_grad"] == flag]
                entry["best_requires_grad_%s" % flag] = min(rs, key=lambda r: r["median"])
        result["methods"][method] = entry
        with open(job["result"], "w") as f:  # partial results survive a crash
            json.dump(result, f, indent=2)
    with open(job["result"], "w") as f:
        json.dump(result, f, indent=2)
    return 0


# ----------------------------------------------------------------------------------------------
# Main process


def run_heatlens(cli, model_path, image, method, params, out_dir, threads):
    cmd = [cli, "explain", "--model", model_path, "--image", image, "--method", method]
    for k, v in params.items():
        cmd += ["--param", "%s=%s" % (k, v)]
    cmd += ["--out", out_dir, "--force", "--threads", str(threads)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError("heatlens-cli failed (exit %d): %s\n%s" % (
            proc.returncode, " ".join(cmd), proc.stderr.strip()[-2000:]))
    files, in_wrote = [], False
    for line in proc.stdout.splitlines():
        if line.startswith("wrote "):
            in_wrote = True
            files.append(line[len("wrote "):].strip())
        elif in_wrote and line.startswith(" "):
            files.append(line.strip())
        else:
            in_wrote = False
    summary = next((f for f in files if f.endswith(".json")), None)
    npy = next((f for f in files if f.endswith(".npy")), None)
    if summary is None or npy is None:
        raise RuntimeError("no 'wrote ...json/.npy' in heatlens-cli's output:\n" + proc.stdout)
    with open(summary) as f:
        j = json.load(f)
    return {"wall": wall, "method": float(j["timings_seconds"]["method"]), "json": j,
            "npy": npy, "summary": summary, "command": cmd}


def heatlens_side(args, model_path, method, params, out_dir):
    print("  [heatlens] %-21s %s" % (method, " ".join("%s=%s" % kv for kv in params.items())),
          flush=True)
    warm = run_heatlens(args.cli, model_path, args.image, method, params, out_dir, args.threads)
    runs = [run_heatlens(args.cli, model_path, args.image, method, params, out_dir, args.threads)
            for _ in range(args.repeat)]
    last = runs[-1]
    j = last["json"]
    pred = j["prediction"]
    top = next((t for t in pred["top5"] if t["class"] == pred["class"]), pred["top5"][0])
    r = {"method_times": [x["method"] for x in runs], "wall_times": [x["wall"] for x in runs],
         "method_median": median([x["method"] for x in runs]),
         "wall_median": median([x["wall"] for x in runs]),
         "warmup": {"method": warm["method"], "wall": warm["wall"]},
         "params": j.get("params"), "target": j["target"]["class"], "layer": j.get("layer"),
         "predicted_class": pred["class"], "predicted_probability": top["probability"],
         "threads": j.get("threads"), "timings_seconds": j["timings_seconds"],
         "passes": j.get("passes"), "stats": j.get("stats"), "warnings": j.get("warnings"),
         "npy": last["npy"], "command": last["command"]}
    print("  [heatlens] %-21s method median %.4f s, one-shot wall median %.4f s "
          "(threads %s)" % (method, r["method_median"], r["wall_median"], r["threads"]),
          flush=True)
    return r


PY_ONESHOT = r"""
import sys
sys.path[:0] = {paths!r}
import cv2, numpy as np, torch
from captum.attr import Saliency
{threads_line}
model = torch.jit.load({model!r}).eval()
img = cv2.imread({image!r}, cv2.IMREAD_UNCHANGED)
base = img[..., :3] if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
rgb = cv2.cvtColor(base, cv2.COLOR_BGR2RGB)
x = torch.from_numpy(np.ascontiguousarray(
    cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)[None]
).astype(np.float32) / 255.0)
with torch.no_grad():
    target = int(model(x).argmax(1))
a = Saliency(model).attribute(x, target=target, abs=True)[0].max(0).values.numpy()
np.save({npy!r}, a)
m = np.clip(a / max(float(np.percentile(a, 99)), 1e-12), 0, 1)
heat = cv2.applyColorMap(cv2.resize((m * 255).astype(np.uint8), (img.shape[1], img.shape[0])),
                         cv2.COLORMAP_VIRIDIS)
cv2.imwrite({png!r}, cv2.addWeighted(base, 0.5, heat, 0.5, 0))
"""


def anchor_env(args):
    env = dict(os.environ)
    if args.anchor_omp_wait_policy != "inherit":
        env["OMP_WAIT_POLICY"] = args.anchor_omp_wait_policy
    return env


def time_to_first_heatmap(args, model_path, out_dir, anchor_threads, default_threads):
    code = PY_ONESHOT.format(
        paths=[os.path.join(args.anchors, d) for d in ANCHOR_DIRS], model=model_path,
        image=args.image, npy=os.path.join(out_dir, "oneshot.npy"),
        png=os.path.join(out_dir, "oneshot.png"),
        threads_line=("torch.set_num_threads(%d)" % anchor_threads
                      if anchor_threads != default_threads else "# torch's default threads"))
    heat, py = [], []
    for _ in range(3):  # alternate, so both see the same machine
        heat.append(run_heatlens(args.cli, model_path, args.image, "saliency", {"abs": "true"},
                                 out_dir, args.threads)["wall"])
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=anchor_env(args))
        py.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError("python one-shot failed:\n" + proc.stderr[-2000:])
    return {"heatlens_wall_times": heat, "python_wall_times": py,
            "heatlens_wall_median": median(heat), "python_wall_median": median(py),
            "python_threads": anchor_threads, "ratio": median(heat) / median(py)}


def prepare_vit_random_head(fixture, work):
    """A copy of the fixture whose zero-initialised head has random weights (seed 0)."""
    import math
    import torch

    path = os.path.join(work, "vit_b_16_traced-random-head.pt")
    ts = torch.jit.load(fixture)
    sd = ts.state_dict()
    w, b = sd["heads.head.weight"], sd["heads.head.bias"]
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        w.copy_(torch.randn(w.shape, generator=g) / math.sqrt(w.shape[1]))
        b.zero_()
    torch.jit.save(ts, path)
    del ts, sd
    return path


def fmt(v, digits=4):
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return "%.*f" % (digits, v)


def markdown_table(model, rows, ttfh):
    lines = ["", "### %s" % model, "",
             "| method | Heatlens s (method) | Heatlens one-shot wall s | anchor s | "
             "anchor config | ratio | map correlation |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        corr = fmt(r["correlation"], 3) if r["correlation"] is not None else \
            "n/a (%s)" % r["correlation_note"]
        if r["correlation"] is not None and r["correlation"] < CORRELATION_WARNING:
            corr += " ⚠"
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["method"], fmt(r["heatlens_method_s"]), fmt(r["heatlens_wall_s"]),
            fmt(r["anchor_s"]), r["anchor_config"], fmt(r["ratio"], 3), corr))
    if ttfh:
        lines.append("| time to first heatmap (fresh process, saliency) | – | %s | %s | "
                     "python3 -c: import torch + captum, load TorchScript + image, Saliency, "
                     ".npy + PNG (%d thread%s) | %s | – |" % (
                         fmt(ttfh["heatlens_wall_median"], 3), fmt(ttfh["python_wall_median"], 3),
                         ttfh["python_threads"], "" if ttfh["python_threads"] == 1 else "s",
                         fmt(ttfh["ratio"], 3)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--anchors", default=os.environ.get("HEATLENS_ANCHORS", "/tmp/anchors"),
                    help="folder with captum/, pytorch-grad-cam/, ttach/ (default: "
                         "$HEATLENS_ANCHORS, else /tmp/anchors)")
    ap.add_argument("--models", default="resnet18,vit_b_16")
    ap.add_argument("--methods", default=None,
                    help="comma-separated (default: %s; the ViT without smoothgrad)"
                         % ",".join(ALL_METHODS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "app", "heatlens-cli"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "build", "fixtures"))
    ap.add_argument("--image", default=None, help="default: skimage's chelsea.png")
    ap.add_argument("--quick", action="store_true",
                    help="repeat 1, and no Score-CAM on the ViT (768 channels)")
    ap.add_argument("--search", choices=["staged", "full"], default="staged",
                    help="anchor configurations: one factor at a time (default) or all")
    ap.add_argument("--vit-head", choices=["random", "fixture"], default="random")
    ap.add_argument("--vit-cam-layer", choices=["ln_1", "block"], default="ln_1")
    ap.add_argument("--anchor-omp-wait-policy", choices=["inherit", "PASSIVE", "ACTIVE"],
                    default="inherit",
                    help="OMP_WAIT_POLICY of the anchor's processes (default: the environment's, "
                         "as a user runs it; heatlens-cli sets PASSIVE unless the environment "
                         "sets it)")
    ap.add_argument("--json", default=None, help="write all numbers to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (maps, outputs)")
    ap.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        return worker_main(args._worker)

    args.anchors = os.path.abspath(args.anchors)
    error = check_anchors(args.anchors)
    if error:
        sys.stderr.write(needs_message(args.anchors, error))
        return 2
    if args.quick:
        args.repeat = 1
    if args.repeat < 1 or args.threads < 1:
        ap.error("--repeat and --threads must be at least 1")
    if not os.access(args.cli, os.X_OK):
        ap.error("no heatlens-cli at %s (build the project, or --cli)" % args.cli)
    if args.image is None:
        data = os.path.dirname(DEFAULT_IMAGE)
        candidates = [DEFAULT_IMAGE] + [os.path.join(data, n) for n in FALLBACK_IMAGES]
        args.image = next((c for c in candidates if os.path.exists(c)), None)
        if args.image is None:
            ap.error("no photo found in %s (python3-skimage); give --image" % data)
    args.image = os.path.abspath(args.image)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODEL_FILES:
            ap.error("unknown model %s (known: %s)" % (m, ", ".join(MODEL_FILES)))
    requested = None
    if args.methods:
        requested = [m.strip() for m in args.methods.split(",") if m.strip()]
        for m in requested:
            if m not in ALL_METHODS:
                ap.error("unknown method %s (known: %s)" % (m, ", ".join(ALL_METHODS)))

    import numpy as np
    import torch

    work = tempfile.mkdtemp(prefix="heatlens-anchors-")
    report = {"image": args.image, "threads": args.threads, "repeat": args.repeat,
              "search": args.search, "anchors": args.anchors, "cli": args.cli,
              "python": sys.executable, "torch": torch.__version__,
              "vit_head": args.vit_head, "vit_cam_layer": args.vit_cam_layer,
              "anchor_omp_wait_policy": anchor_env(args).get("OMP_WAIT_POLICY", "(unset)"),
              "models": {}}
    tables = []
    print("image %s; Heatlens --threads %d; repeat %d; anchor search %s; anchor "
          "OMP_WAIT_POLICY %s; work folder %s"
          % (args.image, args.threads, args.repeat, args.search,
             report["anchor_omp_wait_policy"], work), flush=True)
    try:
        for model in models:
            fixture = os.path.join(args.fixtures, MODEL_FILES[model])
            if not os.path.exists(fixture):
                print("\n%s: no %s (python3 tests/fixtures/make_fixtures.py build/fixtures%s); "
                      "skipped" % (model, fixture, " --bench" if model == "vit_b_16" else ""))
                continue
            methods = [m for m in (requested or MODEL_METHODS[model])]
            notes = []
            if model == "vit_b_16" and args.quick and "score-cam" in methods:
                methods.remove("score-cam")
                notes.append("score-cam skipped (--quick): 768 channels = 768 forward passes")
            model_path = fixture
            if model == "vit_b_16" and args.vit_head == "random":
                print("\n%s: writing a copy of the fixture with a random head (torchvision "
                      "zero-initialises it: constant logits, zero maps)" % model, flush=True)
                model_path = prepare_vit_random_head(fixture, work)
                notes.append("explains %s: the fixture with heads.head re-initialised "
                             "(randn/sqrt(768), seed 0); same cost" % os.path.basename(model_path))
            hl_layer, gc_layer = cam_layers(model, args.vit_cam_layer)
            print("\n== %s (%s); methods %s" % (model, model_path, ",".join(methods)), flush=True)
            out_dir = os.path.join(work, model)
            os.makedirs(out_dir, exist_ok=True)

            heat = {}
            for method in methods:
                try:
                    heat[method] = heatlens_side(args, model_path, method,
                                                 heatlens_params(method, hl_layer), out_dir)
                except RuntimeError as e:
                    print("  [heatlens] %s: %s" % (method, e), flush=True)
                    heat[method] = {"error": str(e)}

            job = {"anchors": args.anchors, "model": model, "model_path": model_path,
                   "image": args.image, "methods": methods, "repeat": args.repeat,
                   "threads": args.threads, "search": args.search,
                   "vit_cam_layer": args.vit_cam_layer, "out": out_dir,
                   "result": os.path.join(out_dir, "anchor-result.json")}
            job_path = os.path.join(out_dir, "anchor-job.json")
            with open(job_path, "w") as f:
                json.dump(job, f)
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_worker",
                                   job_path], env=anchor_env(args))
            anchor = {}
            if os.path.exists(job["result"]):
                with open(job["result"]) as f:
                    anchor = json.load(f)
            if proc.returncode != 0:
                print("  [anchor] worker failed (exit %d); partial results kept" % proc.returncode)

            # Same input? Heatlens' predicted probability against the anchor's.
            first = next((h for h in heat.values() if "error" not in h), None)
            check = {}
            if first and anchor:
                check = {"heatlens_class": first["predicted_class"],
                         "heatlens_probability": first["predicted_probability"],
                         "anchor_class": anchor["predicted_class"],
                         "anchor_probability": anchor["predicted_probability"],
                         "logit_max_abs_diff_eager_vs_torchscript":
                             anchor["logit_max_abs_diff_eager_vs_torchscript"]}
                same = (check["heatlens_class"] == check["anchor_class"] and
                        abs(check["heatlens_probability"] - check["anchor_probability"]) < 1e-4)
                print("  input check: Heatlens predicts class %d p=%.7f, anchor (TorchScript, "
                      "same preprocessing) class %d p=%.7f -> %s" % (
                          check["heatlens_class"], check["heatlens_probability"],
                          check["anchor_class"], check["anchor_probability"],
                          "same" if same else "DIFFERENT: the two sides may not see the same "
                                              "input"))
                print("  eager torchvision vs TorchScript logits: max |diff| = %.3g (%s)" % (
                    check["logit_max_abs_diff_eager_vs_torchscript"],
                    "agree to 1e-4" if check["logit_max_abs_diff_eager_vs_torchscript"] < 1e-4
                    else "WARNING: not within 1e-4"))
                if anchor.get("logits_constant"):
                    notes.append("the model's logits are constant: gradient and occlusion maps "
                                 "are zero (use --vit-head random)")

            rows = []
            for method in methods:
                h, a = heat.get(method, {}), anchor.get("methods", {}).get(method)
                row = {"method": method, "heatlens_method_s": h.get("method_median"),
                       "heatlens_wall_s": h.get("wall_median"), "anchor_s": None,
                       "anchor_config": "–", "ratio": None, "correlation": None,
                       "correlation_note": "not computed", "heatlens": h, "anchor": a}
                if method in ("grad-cam", "score-cam"):
                    row["layers"] = {"heatlens": hl_layer, "pytorch-grad-cam": gc_layer}
                if a:
                    row["anchor_s"] = a["best"]["median"]
                    row["anchor_config"] = a["best"]["label"]
                    if h.get("method_median") is not None:
                        row["ratio"] = h["method_median"] / a["best"]["median"]
                    if "npy" in h:
                        corr, note = pearson_abs(np.load(h["npy"]), np.load(a["map"]))
                        row["correlation"], row["correlation_note"] = corr, note
                        shutil.copy(h["npy"], os.path.join(out_dir, "heatlens-%s.npy" % method))
                    if (h.get("target") is not None and
                            h["target"] != anchor.get("predicted_class")):
                        notes.append("%s: Heatlens explains class %s, the anchor class %s" % (
                            method, h["target"], anchor.get("predicted_class")))
                rows.append(row)
                c = row["correlation"]
                print("  %-21s map correlation (Pearson, |values|): %s%s" % (
                    method, fmt(c, 4) if c is not None else "n/a (%s)" % row["correlation_note"],
                    "  WARNING: below %.1f" % CORRELATION_WARNING
                    if c is not None and c < CORRELATION_WARNING else ""), flush=True)

            ttfh = None
            try:
                sal = anchor.get("methods", {}).get("saliency")
                py_threads = (sal["best"]["config"]["threads"] if sal
                              else anchor.get("default_threads", 1))
                print("  time to first heatmap (3 fresh processes each) ...", flush=True)
                ttfh = time_to_first_heatmap(args, model_path, out_dir, py_threads,
                                             anchor.get("default_threads", 1))
            except RuntimeError as e:
                print("  time to first heatmap failed: %s" % e)

            table = markdown_table(model, rows, ttfh)
            detail = ["", "anchor configurations timed for %s (median s of %d; * = anchor):"
                      % (model, args.repeat)]
            for row in rows:
                a = row["anchor"]
                if not a:
                    continue
                for r in a["configs"]:
                    detail.append("  %s %-21s %-64s %.4f" % (
                        "*" if r["label"] == a["best"]["label"] else " ", row["method"],
                        r["label"], r["median"]))
                if "best_ppe_1" in a:
                    detail.append("    occlusion: Captum default ppe=1 best %.4f s, best of "
                                  "{1,16,32} %.4f s" % (a["best_ppe_1"]["median"],
                                                        a["best"]["median"]))
                if "best_requires_grad_True" in a:
                    detail.append("    %s: requires_grad True best %.4f s, False best %.4f s"
                                  % (row["method"], a["best_requires_grad_True"]["median"],
                                     a["best_requires_grad_False"]["median"]))
            if notes:
                detail += ["", "notes:"] + ["  - " + n for n in notes]
            tables.append(table + "\n" + "\n".join(detail))
            print(tables[-1], flush=True)
            report["models"][model] = {
                "model_path": model_path, "fixture": fixture, "input_check": check,
                "anchor_process": {k: v for k, v in anchor.items() if k != "methods"},
                "rows": [{k: v for k, v in r.items()} for r in rows],
                "time_to_first_heatmap": ttfh, "notes": notes}
    finally:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2, default=str)
        if args.keep:
            print("\nwork folder kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    print("\n\n## Heatlens vs anchors (ratio = Heatlens method s / anchor s; < 1 = Heatlens "
          "faster)")
    for t in tables:
        print(t)
    if args.json:
        print("\nwrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
