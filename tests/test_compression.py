"""JSON answers are compressed in the best encoding the client accepts (zstd, then
brotli, then gzip), and only when it accepts one."""

from __future__ import annotations

import gzip

import brotli
import pytest
import zstandard

import orjson

from tests.conftest import auth_header, http_client


def _big_pull(client, person, encoding: str):
    headers = {**auth_header(person), "Accept-Encoding": encoding}
    return client.get("/v1/sync/pull?limit=1000", headers=headers)


def _fill(replica_for, people) -> None:
    desk = replica_for(people["desk"])
    for k in range(40):
        desk.insert("customer", name=f"Huaxin Printing Co. {k}", zone="ring2", phone="010-6555-0101")
    desk.sync()


def test_a_pull_page_is_gzipped_when_the_client_accepts_gzip(client, people, replica_for):
    _fill(replica_for, people)
    plain = _big_pull(client, people["desk"], "identity")
    packed = _big_pull(client, people["desk"], "gzip, deflate")
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert orjson.loads(gzip.decompress(packed.data)) == orjson.loads(plain.data)
    assert len(packed.data) < len(plain.data) / 3


def test_a_small_answer_is_sent_as_it_is(client, people):
    response = client.get("/v1/sync/pull", headers={**auth_header(people["wang"]), "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_the_device_transport_reads_compressed_pages_transparently(app, people, replica_for):
    _fill(replica_for, people)
    manager = replica_for(people["manager"])
    assert manager.sync().pulled >= 40
    with http_client(app) as client:
        response = client.get("/v1/sync/pull?limit=1000", headers=auth_header(people["manager"]))
    assert response.headers["Content-Encoding"] == "zstd"  # httpx asks for it with zstandard installed
    assert len(response.json()["changes"]) >= 40


_DECODE = {"zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body),
           "br": brotli.decompress, "gzip": gzip.decompress, None: lambda body: body}


@pytest.mark.parametrize("accepted, chosen", [
    ("gzip, deflate, br, zstd", "zstd"),        # the best of the three
    ("br;q=0.5, gzip", "br"),                   # the server's preference, whatever the client's q
    ("zstd", "zstd"),
    ("gzip, deflate", "gzip"),                  # a client of before: gzip as always
    ("zstd;q=0, br;q=0, gzip;q=0.1", "gzip"),   # refused ones are never chosen
    ("*", "zstd"),
    ("*;q=0, gzip", "gzip"),
    ("identity", None),
    ("gzip;q=0", None),
    ("", None),
    ("ｚｓｔｄ, 压缩", None),                       # names the server does not speak
])
def test_the_encoding_is_the_best_the_client_accepts(client, people, replica_for, accepted, chosen):
    _fill(replica_for, people)
    plain = _big_pull(client, people["desk"], "identity")
    answer = _big_pull(client, people["desk"], accepted)
    assert answer.status_code == 200
    assert answer.headers.get("Content-Encoding") == chosen
    assert "Accept-Encoding" in answer.headers["Vary"]
    assert orjson.loads(_DECODE[chosen](answer.data)) == orjson.loads(plain.data)
    if chosen:
        assert len(answer.data) < len(plain.data) / 3
