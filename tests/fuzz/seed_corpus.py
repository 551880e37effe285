#!/usr/bin/env python3
"""Seed inputs for the fuzz targets in tests/fuzz, from the public vectors and a few hand-written
protocol samples. Used by scripts/fuzz.sh (libFuzzer's starting corpus) and by the build (the
ctest fuzz replays, see tests/fuzz/CMakeLists.txt).

    seed_corpus.py <vectors dir> <out dir> [target...]

writes <out dir>/<target>/seed-NNN for the given targets (default: every target listed here).
Files are rewritten only when their content changes, and stale seed-* files are removed; other
files in the folders (a fuzzer's own corpus) are left alone. Deterministic: the same vectors give
the same files. A missing vectors folder gives the hand-written seeds only.
"""
import json
import os
import sys


def dump(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def load(vec, name):
    path = os.path.join(vec, name)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def nostr_seeds(vec, target):
    ev = load(vec, "nostr-events.json")
    if ev is None:
        return []
    events = [c["event"] for c in ev["serialization_cases"] + ev["dvm_flow"]]
    events += [ev["encrypted_job"][k]["event"] for k in ("nip44", "nip04")]
    first = events[0]
    if target in ("event_json_fuzz", "job_request_fuzz"):
        return [dump(e) for e in events] + [ev["encrypted_job"]["plaintext_tags_json"]]
    if target == "relay_message_fuzz":
        return [dump(["EVENT", "s", e]) for e in events[:4]] + [
            dump(["OK", first["id"], True, "duplicate: have it"]), '["EOSE","s"]',
            '["CLOSED","s","auth-required: x"]', '["NOTICE","n"]', '["AUTH","c"]',
            '["COUNT","q",{"count":3,"approximate":true}]']
    if target == "client_message_fuzz":
        return [dump(["EVENT", e]) for e in events[:4]] + [
            '["REQ","s",{"kinds":[5050],"since":1},{"#e":["%s"]}]' % first["id"],
            '["CLOSE","s"]', '["COUNT","q",{"authors":["%s"]}]' % first["pubkey"]]
    if target == "filter_fuzz":
        return ['{"kinds":[5050,7000],"#e":["%s"],"since":1,"until":2,"limit":5}' % first["id"],
                '{"ids":["%s"],"authors":["%s"],"#t":["x"]}' % (first["id"], first["pubkey"])]
    return []


def key_seeds(vec, target):
    if target in ("bech32_fuzz", "mnemonic_fuzz"):
        n6 = load(vec, "nip06-vectors.json")
        if n6 is None:
            return []
        if target == "mnemonic_fuzz":
            return [v["mnemonic"] for v in n6["vectors"]]
        return ([v[k] for v in n6["vectors"] for k in ("npub", "nsec")] +
                [i["bech32"] for i in n6["nip19_examples"]["items"]])
    if target == "nip44_decrypt_fuzz":
        n44 = load(vec, "nip44.vectors.json")
        if n44 is None:
            return []
        v2 = n44["v2"]
        return ([c["payload"] for c in v2["valid"]["encrypt_decrypt"]] +
                [c["payload"] for c in v2["invalid"]["decrypt"]])
    if target == "nip04_decrypt_fuzz":
        n04 = load(vec, "nip04-vectors.json")
        return [] if n04 is None else [v["payload"] for v in n04["vectors"]]
    return []


# The net/ parsers: hand-written samples of what the backends and relays send.
NET_SEEDS = {
    "http_response_fuzz": [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        "{\"ok\":true}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
        "0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nno such model",
        "HTTP/1.0 301 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
        "\r\n1c\r\n{\"response\":\"a\",\"done\":false}\n\r\n0\r\nX-Trailer: 1\r\n\r\n",
    ],
    "chunked_decoder_fuzz": [
        "5\r\nhello\r\n0\r\n\r\n",
        "a;name=value\r\n0123456789\r\n1\r\nx\r\n0\r\nTrailer: yes\r\n\r\n",
        "FFFFFFFF\r\n",
        "0\r\n\r\n",
    ],
    "ndjson_fuzz": [
        "{\"model\":\"m\",\"response\":\"Hi\",\"done\":false}\n"
        "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"eval_count\":2}\n",
        "{\"a\":1}\r\n\r\n{\"b\":2}",
        "\n\n\n",
    ],
    "sse_fuzz": [
        "data: {\"content\":\"Hi\",\"stop\":false}\n\ndata: {\"content\":\"\",\"stop\":true}\n\n",
        "event: update\ndata: a\ndata: b\nid: 7\nretry: 100\n\n: comment\n\ndata: [DONE]\n\n",
        "data:x\r\n\r\ndata:y\r\rdata: z\n\n",
    ],
    "url_fuzz": [
        "ws://127.0.0.1:7777/", "wss://relay.example.com", "wss://relay.example.com:443/path?x=1",
        "ws://[::1]:8080/ws", "ws://localhost", "wss://[2001:db8::1]/",
    ],
}


# For a target not listed above (or no vectors): a little of everything, never an empty corpus.
GENERIC_SEEDS = ['{"a":[1,-2.5e3,"x\\u00e9",true,null],"b":{}}', "line one\nline two\r\n",
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]


def seeds_for(vec, target):
    seeds = nostr_seeds(vec, target) + key_seeds(vec, target) + NET_SEEDS.get(target, [])
    return seeds or GENERIC_SEEDS


ALL_TARGETS = ["bech32_fuzz", "chunked_decoder_fuzz", "client_message_fuzz", "event_json_fuzz",
               "filter_fuzz", "http_response_fuzz", "job_request_fuzz", "mnemonic_fuzz",
               "ndjson_fuzz", "nip04_decrypt_fuzz", "nip44_decrypt_fuzz", "relay_message_fuzz",
               "sse_fuzz", "url_fuzz"]


def write_seeds(folder, seeds):
    os.makedirs(folder, exist_ok=True)
    names = set()
    for i, s in enumerate(seeds):
        name = "seed-%03d" % i
        names.add(name)
        path = os.path.join(folder, name)
        data = s.encode("utf-8")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        with open(path, "wb") as f:
            f.write(data)
    for name in os.listdir(folder):
        if name.startswith("seed-") and name not in names:
            os.remove(os.path.join(folder, name))


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    vec, out, targets = argv[1], argv[2], argv[3:] or ALL_TARGETS
    for t in targets:
        seeds = seeds_for(vec, t)
        write_seeds(os.path.join(out, t), seeds)
        print("seed_corpus: %s: %d seeds" % (t, len(seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
