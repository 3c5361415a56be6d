#!/usr/bin/env python3
"""Writes the starting corpus of every fuzz target into tests/data/fuzz/<target>/.

Run once by hand (Debian's python3-numpy, python3-opencv, python3-torch); libFuzzer grows the
corpus from these and ./setup.sh fuzz merges what it finds back. Inputs that once crashed are
kept beside them under names starting with "crash-" and are never regenerated here.
"""
import gzip
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fuzz")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def idx_images(count, rows, cols):
    pixels = (np.arange(count * rows * cols) % 251).astype(np.uint8).tobytes()
    return struct.pack(">IIII", 0x803, count, rows, cols) + pixels


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_input(flags, images, labels=b""):
    return bytes([flags]) + struct.pack("<I", len(images)) + images + labels


def seeds_idx():
    images = idx_images(3, 4, 5)
    labels = idx_labels([0, 2, 1])
    put("idx", "raw-images-only", idx_input(0, images))
    put("idx", "raw-with-labels", idx_input(2, images, labels))
    put("idx", "gz-with-labels", idx_input(3, gzip.compress(images), gzip.compress(labels)))
    put("idx", "folder-with-labels", idx_input(6, images, labels))
    put("idx", "truncated-payload", idx_input(0, images[:-7]))
    put("idx", "label-count-mismatch", idx_input(2, images, idx_labels([0, 1])))
    # A few bytes of gzip that claim 4 billion 28x28 images: must not allocate them.
    put("idx", "gz-claims-huge-count",
        idx_input(1, gzip.compress(struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28) + b"\0" * 64)))


def seeds_model_card():
    card = {
        "format_version": 1, "name": "Seed CNN", "family": "cnn",
        "input": {"channels": 1, "size": [28, 28], "color_order": "rgb", "mean": [0.286],
                  "std": [0.353], "resize": "stretch"},
        "labels": ["a", "b", "c"], "cam_layer": "features.3",
    }
    put("model_card", "cnn.json", json.dumps(card))
    vit = {"family": "vit", "input": {"channels": 3, "size": [224, 224], "resize": "center-crop",
                                       "resize_shorter": 256},
           "transformer": {"attention": ["blocks.0.attn"], "cls_token": 0, "patch_grid": [14, 14]}}
    put("model_card", "vit.json", json.dumps(vit))
    groups = {"family": "groups", "feature_groups": {"grid": [2, 2], "pairs": [[0, 1], [2, 3]],
                                                     "method": "group_attributions"}}
    put("model_card", "groups.json", json.dumps(groups))
    put("model_card", "wrong-type.json", '{"input": {"channels": "three"}}')
    put("model_card", "huge-float-for-int.json", '{"input": {"channels": 1e300}}')
    put("model_card", "not-an-object.json", "[1, 2, 3]")
    put("model_card", "labels-file.json", '{"labels_file": "labels.txt"}')


def seeds_ensemble_manifest():
    put("ensemble_manifest", "valid.json", json.dumps(
        {"format": "heatlens-ensemble", "version": 1, "name": "Seed",
         "members": ["member-1.pt", "member-2.pt"]}))
    put("ensemble_manifest", "format-is-a-number.json", '{"format": 3, "members": ["a.pt"]}')
    put("ensemble_manifest", "absolute-member.json",
        '{"format": "heatlens-ensemble", "members": ["/etc/passwd"]}')
    put("ensemble_manifest", "version-is-a-string.json",
        '{"format": "heatlens-ensemble", "version": "2", "members": ["a.pt"]}')


def seeds_image_list():
    put("image_list", "paths-and-labels.txt",
        "# seed\nimage.png\t0\nimage.jpg\t1\nmissing.png\t-1\n\nimage.bmp\n")
    put("image_list", "bad-labels.txt", "image.png\tcat\nimage.png\t-2\nimage.png\t99999999999\n")
    put("image_list", "special-files.txt", "/dev/zero\n/proc/self/mem\n.\n")


def seeds_npy():
    for name, array in [("2d.npy", np.arange(12, dtype="<f4").reshape(3, 4)),
                        ("1d.npy", np.arange(5, dtype="<f4")),
                        ("float64.npy", np.arange(4, dtype="<f8")),
                        ("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="<f4")))]:
        buffer = io.BytesIO()
        np.save(buffer, array)
        put("npy", name, buffer.getvalue())
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"
    put("npy", "shape-beyond-data.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
        header + b"\0" * 16)


def seeds_zip_directory():
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x)

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Tiny()), buffer)
    put("zip_directory", "tiny-torchscript.pt", buffer.getvalue())
    for name, compression, zip64 in [("deflate.zip", zipfile.ZIP_DEFLATED, False),
                                     ("zip64.zip", zipfile.ZIP_STORED, True)]:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as z:
            with z.open("archive/data/0", "w", force_zip64=zip64) as f:
                f.write(b"weights" * 20)
            z.writestr("archive/version", "3\n")
        put("zip_directory", name, buffer.getvalue())


def seeds_image_decode():
    import cv2

    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = np.arange(7) * 30
    rgb[..., 1] = np.arange(6)[:, None] * 40
    kinds = {"png": 0, "jpg": 1, "bmp": 2, "tif": 3}
    for ext, params in [("png", []), ("jpg", [cv2.IMWRITE_JPEG_QUALITY, 80]), ("bmp", []),
                        ("tif", [])]:
        ok, data = cv2.imencode("." + ext, rgb, params)
        assert ok
        put("image_decode", "rgb." + ext, bytes([kinds[ext]]) + data.tobytes())
    ok, data = cv2.imencode(".png", (np.arange(30, dtype=np.uint16) * 2000).reshape(5, 6))
    put("image_decode", "gray16.png", bytes([0]) + data.tobytes())
    ok, data = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    put("image_decode", "progressive.jpg", bytes([1]) + data.tobytes())
    put("image_decode", "truncated.jpg", bytes([1]) + data.tobytes()[: len(data) * 2 // 3])
    ok, data = cv2.imencode(".png", np.zeros((3, 3, 4), np.uint8))
    put("image_decode", "rgba.png", bytes([0]) + data.tobytes())


if __name__ == "__main__":
    for make in [seeds_idx, seeds_model_card, seeds_ensemble_manifest, seeds_image_list,
                 seeds_npy, seeds_zip_directory, seeds_image_decode]:
        make()
    print("seeds written under", os.path.normpath(ROOT), file=sys.stderr)
