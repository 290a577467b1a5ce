"""Print zarr arrays written by the ndarray serializer on S3 as JSON, read with
zarr-python 3 straight from the S3 server's data folder.

Usage: python read_zarr.py ARRAY_FOLDER...
"""
import json
import sys

import numpy
import zarr
from zarr.storage import LocalStore

out = []
for folder in sys.argv[1:]:
    array = zarr.open_array(store=LocalStore(folder, read_only=True), mode="r")
    data = array[()]
    out.append({
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "values": numpy.asarray(data).ravel().tolist(),
        "codecs": [type(codec).__name__ for codec in array.metadata.codecs],
        "attrs": dict(array.attrs),
    })
print(json.dumps(out))
