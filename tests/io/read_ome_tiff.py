#!/usr/bin/env python3
"""Reads an OME-TIFF with tifffile (an independent reader) and prints what it found as JSON.

Used by io_tests to check polscan's OME-TIFF writer against a real reader.
"""
import json
import sys
import xml.etree.ElementTree as ET

import numpy
import tifffile

NS = {"ome": "http://www.openmicroscopy.org/Schemas/OME/2016-06"}


def main(path):
    with tifffile.TiffFile(path) as tif:
        if not tif.is_ome:
            print(json.dumps({"error": "tifffile does not see an OME-TIFF"}))
            return 1
        series = tif.series[0]
        data = series.asarray()
        root = ET.fromstring(tif.ome_metadata)
    pixels = root.find("ome:Image/ome:Pixels", NS)
    annotations = {}
    for m in root.findall("ome:StructuredAnnotations/ome:MapAnnotation", NS):
        annotations[m.get("ID")] = {v.get("K"): v.text for v in m.findall("ome:Value/ome:M", NS)}
    angles = {}
    for plane in pixels.findall("ome:Plane", NS):
        for ref in plane.findall("ome:AnnotationRef", NS):
            a = annotations.get(ref.get("ID"), {})
            if "PolarizerAngle" in a:
                angles[int(plane.get("TheT"))] = float(a["PolarizerAngle"])
    first_plane = pixels.find("ome:Plane", NS)
    channels = pixels.findall("ome:Channel", NS)
    wavelengths = []
    for ch in channels:
        ls = ch.find("ome:LightSourceSettings", NS)
        if ls is not None:
            wavelengths.append(float(ls.get("Wavelength")))
    out = {
        "axes": series.axes,
        "shape": list(data.shape),
        "dtype": str(data.dtype),
        "pixel_um": float(pixels.get("PhysicalSizeX")),
        "pixel_unit": pixels.get("PhysicalSizeXUnit"),
        "angles_deg": [angles[t] for t in sorted(angles)],
        "exposure": float(first_plane.get("ExposureTime", "0")),
        "exposure_unit": first_plane.get("ExposureTimeUnit", ""),
        "wavelengths_nm": wavelengths,
        "microscope": root.find("ome:Instrument/ome:Microscope", NS).get("Model"),
        "optical_train": annotations.get("Annotation:polscan", {}).get("optical_train"),
        # Sum of every plane in file order (T major, then C), to compare pixel values.
        "plane_sums": [int(s) for s in data.reshape(-1, data.shape[-2], data.shape[-1])
                       .astype(numpy.int64).sum(axis=(1, 2))],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
