"""Writes the bad-input corpus beside this script (run it to regenerate; the files are committed).

Each file is one way real or hostile input goes wrong; tests/test_bad_input.py says what the
importer must do with each. Files too big to commit (a 10 MB line) or that cannot be committed
(a directory, a FIFO, a symlink to /dev/zero) are made by the test itself.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELSINKI_PBF = HERE.parent.parent.parent / "data" / "helsinki" / "helsinki_center.osm.pbf"


def write(name: str, data: str | bytes) -> None:
    (HERE / name).write_bytes(data.encode() if isinstance(data, str) else data)


def main() -> None:
    rng = random.Random(7)
    good = "lat,lon,type\n40.7000,-73.9000,cctv\n"
    # --- fatal: the file is refused, nothing written ------------------------------------------
    write("empty.csv", b"")
    write("gzip.csv", gzip.compress(good.encode(), mtime=0))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("cameras.csv", good)
    write("zip.csv", zbuf.getvalue())
    write("binary.csv", bytes(rng.randrange(256) for _ in range(4096)))
    write("wide_header.csv", ",".join(f"c{i}" for i in range(2_000)) + "\n1,2\n")
    write("huge_field.csv", "lat,lon,note\n40.7,-73.9," + "x" * 200_000 + "\n")
    write("deep_nesting.json", "[" * 200_000)
    write("deep_nesting.geojson", '{"type":"FeatureCollection","features":[' + "[" * 5_000)
    write("empty.osm.pbf", b"")
    write("truncated.osm.pbf", HELSINKI_PBF.read_bytes()[:3_000])
    write("random.osm.pbf", bytes(rng.randrange(256) for _ in range(2048)))
    write("not_json.json", "hello, world\n")
    write("truncated.json", '[{"lat": 40.7, "lon": -73.9}, {"lat": 40.')
    write("truncated.geojson", '{"type": "FeatureCollection", "features": [{"type": "Feat')
    write("object_without_elements.json", '{"version": 0.6, "generator": "x"}')
    write("feature_not_collection.geojson", json.dumps(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.9, 40.7]}}))
    write("no_latitude.csv", "x_coord,y_coord\n1,2\n")
    write("latin1_forced_utf8.csv", "lat,lon,paikka\n60.17,24.94,Töölö\n".encode("latin-1"))
    write("nul_in_header.csv", b"lat,lo\x00n\n40.7,-73.9\n")
    write("csv_as_json.csv", good)  # imported with --format json
    # --- row-level: good rows kept, each bad row listed with its line and reason --------------
    write("reject_flood.csv", "lat,lon\n" + "999,999\n" * 5_001 + "40.7,-73.9\n")
    write("count_overflow.csv", "lat,lon,count\n"
          "40.70,-73.90,2147483648\n40.71,-73.91,-1\n40.72,-73.92,1e400\n"
          "40.73,-73.93,2.5\n40.74,-73.94,10001\n40.75,-73.95,3\n")
    write("count_two_billion.csv", "lat,lon,count\n40.70,-73.90,2000000000\n"
          "40.71,-73.91,2000000000\n40.72,-73.92,1\n")
    write("nul_in_field.csv", b"lat,lon,name\n40.70,-73.90,a\x00b\n40.71,-73.91,ok\n")
    write("control_chars.csv", b"lat,lon,name\n40.70,-73.90,bell\x07\n40.71,-73.91,esc\x1b[31m\n"
          b"40.72,-73.92,tab\tinside\n40.73,-73.93,del\x7f\n")
    write("mixed_encoding.csv", ("lat,lon,name\n" + "".join(
        f"40.{i:04d},-73.9,Café\n" for i in range(200))).encode()
          + "41.0,-73.9,Café Latin\n".encode("latin-1"))
    write("latin1.csv", "lat;lon;nimi\n60,17;24,94;Töölö\n60,18;24,95;Käpylä\n".encode("cp1252"))
    write("utf8_bom.csv", "\ufefflat,lon,name\n40.7,-73.9,Zoë\n".encode())
    write("crlf.csv", b"lat,lon,name\r\n40.70,-73.90,a\r\n40.71,-73.91,b\r\n")
    write("utf16.csv", "lat,lon,name\n40.7,-73.9,Zoë\n".encode("utf-16"))
    write("ragged.csv", "lat,lon,type\n40.70,-73.90\n40.71,-73.91,cctv,extra\n40.72,-73.92,cctv\n")
    write("formula.csv", "lat,lon,note\n=cmd|' /C calc'!A0,-73.9,x\n"
          "+1,@SUM(A1),y\n40.7,-73.9,ok\n")
    write("nan_inf.csv", "lat,lon\nnan,-73.9\n40.7,inf\n1e999,-73.9\n40.7,-73.9\n")
    write("empty_rows.csv", "lat,lon,type\n,,\n\n40.7,-73.9,cctv\n,,\n")
    write("header_only.csv", "lat,lon,type\n")
    write("quoted_newline.csv", 'lat,lon,note\n40.70,-73.90,"two\nlines"\n95,-73.9,bad\n')
    write("tabs.tsv", "lat\tlon\ttype\n40.70\t-73.90\tcctv\nx\t-73.91\tcctv\n")
    write("survey_counts.csv", "lat,lon,count\n" + "".join(
        f"40.{i:04d},-73.9,{i % 2}\n" for i in range(10)))
    write("duplicates.csv", "id,lat,lon,type\n"
          "a,40.70,-73.90,cctv\nb,40.71,-73.91,cctv\na,40.70,-73.90,cctv\n"
          "c,40.72,-73.92,alpr\n")
    write("duplicate_points.csv", "lat,lon,type\n40.70,-73.90,cctv\n40.70,-73.90,cctv\n"
          "40.70,-73.90,alpr\n40.71,-73.91,cctv\n")
    write("stacked.csv", "id,lat,lon\n" + "".join(f"s{i},39.0,-98.0\n" for i in range(12))
          + "t1,40.7,-73.9\n")
    write("json_nul.json", json.dumps([
        {"id": 1, "lat": 40.70, "lon": -73.90, "tags": {"name": "a\u0000b"}},
        {"id": 2, "lat": 40.71, "lon": -73.91, "tags": {"name": "ok"}}]))
    write("json_bad_elements.json", json.dumps([
        {"id": 1, "lat": 40.70, "lon": -73.90}, 42, {"id": 3, "lat": "abc", "lon": -73.9},
        {"id": 4, "lat": 91, "lon": -73.9}, {"type": "way", "id": 5},
        {"id": 6, "lat": 40.71, "lon": -73.91, "count": "lots"}]))
    write("json_big_element.json", json.dumps([
        {"id": 1, "lat": 40.70, "lon": -73.90, "note": "x" * 5_000},
        {"id": 2, "lat": 40.71, "lon": -73.91}]))
    write("geojson_bad_features.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.9, 40.7]},
         "properties": {}},
        {"type": "Feature", "geometry": None, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 40]},
         "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.8, 40.8]},
         "properties": {"note": "nul\u0000here"}}]}))
    write("sites_nul.csv", b"lat,lon,name\n40.70,-73.90,Clinic\x00A\n40.71,-73.91,Clinic B\n")
    write("addresses_bad.csv", b"street,housenumber,city,lat,lon\n"
          b"Main St,1,Town\x00ville,40.70,-73.90\nMain St,2,Town,40.71,-73.91\n"
          b"Main St,3,Town,abc,-73.92\n")


if __name__ == "__main__":
    main()
