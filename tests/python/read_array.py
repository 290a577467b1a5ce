"""Print an array file written by the ndarray serializer as JSON, read with h5py.

Usage: python read_array.py FILE.h5
"""
import json
import sys

import crc32c
import h5py
import numpy

with h5py.File(sys.argv[1], "r") as f:
    dataset = f["array"]
    data = dataset[()]
    print(json.dumps({
        "members": list(f.keys()),
        "dtype": str(dataset.dtype),
        "shape": list(dataset.shape),
        "values": data.ravel().tolist() if dataset.shape else [data.item()],
        # The integrity check as docs/serializers.md defines it.
        "crc32c": crc32c.crc32c(numpy.ascontiguousarray(data)
                                .astype(data.dtype.newbyteorder("<")).tobytes()),
        "attrs": {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                  for k, v in dataset.attrs.items()},
    }))
