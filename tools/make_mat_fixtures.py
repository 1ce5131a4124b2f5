#!/usr/bin/env python3
"""Writes test/fixtures/mat/: Flowers102-format .mat files (scipy writes MATLAB 5 files like the official ones).
Run with Debian's python3-scipy: /usr/bin/python3 tools/make_mat_fixtures.py"""
import numpy as np
import scipy.io as sio

out = "test/fixtures/mat/"
# 30 images, 3 classes; the official imagelabels.mat holds uint8 labels 1..102 as a 1x8189 matrix.
sio.savemat(out + "imagelabels.mat", {"labels": np.array([[1 + (i % 3) for i in range(30)]], dtype=np.uint8)}, do_compression=False)
sio.savemat(out + "setid.mat", {"trnid": np.arange(1, 13, dtype=np.uint16)[None, :], "valid": np.arange(13, 19, dtype=np.uint16)[None, :],
                                "tstid": np.arange(19, 31, dtype=np.uint16)[None, :]}, do_compression=True)
sio.savemat(out + "doubles.mat", {"x": np.array([[1.5, -2.25, 3e10]]), "name_longer_than_4": np.int32([[7]])}, do_compression=False)
