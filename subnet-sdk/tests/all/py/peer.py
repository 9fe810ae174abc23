"""The Python side of Subforge's networking interop tests: real bittensor peers.

Usage: python peer.py MODE  (configuration as JSON on stdin, results as JSON on stdout)
  axon10      a bittensor 10.x Axon serving `Dummy` and the streaming `Tale`; prints {"port", "hotkey"},
              runs until stdin closes
  dendrite10  a bittensor 10.x Dendrite calling our axon, one case after another
  pyrepr      str() of JSON values, as the Synapse body hash renders them
  epistula    Epistula v2 headers checked and made by the spec's rules
  btauth11    bittensor 11.x http_auth verifying our requests and signing requests to our axon
  synapse10   a bittensor 10.x Dendrite sending synapses declared in the config to our axon
  stream10    a bittensor 10.x Dendrite reading our axon's `Tale` stream with call_stream
"""
import asyncio
import hashlib
import json
import os
import sys
import time
import typing
import urllib.request
import urllib.error
import uuid as uuidlib


def patch_external_ip():
    import bittensor.utils.networking as networking
    networking.get_external_ip = lambda: "127.0.0.1"


def dummy_class():
    import bittensor as bt

    class Dummy(bt.Synapse):
        dummy_input: int
        dummy_output: typing.Optional[int] = None
        required_hash_fields: typing.ClassVar[typing.Tuple[str, ...]] = ("dummy_input",)

    return Dummy


def tale_class(seen=None):
    """`Tale`, a streaming synapse: `words` words, one chunk each. `seen` collects the stream's
    response headers on the dendrite side."""
    import bittensor as bt

    class Tale(bt.StreamingSynapse):
        words: int = 0

        async def process_streaming_response(self, response):
            if seen is not None:
                seen["content_type"] = response.headers.get("Content-Type")
                seen["trailer"] = response.headers.get("Trailer")
            async for chunk in response.content.iter_any():
                yield chunk.decode()

        def extract_response_json(self, response):
            return {"words": self.words}

        def deserialize(self):
            return self

    return Tale


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def axon10(cfg):
    patch_external_ip()
    import bittensor as bt
    from bittensor_wallet import Keypair, Wallet

    Dummy = dummy_class()
    wallet = Wallet(name="w", hotkey="h", path=os.path.join(os.environ["HOME"], "wallets"))
    kp = Keypair.create_from_uri(cfg["uri"])
    wallet.set_hotkey(kp, encrypt=False, overwrite=True)
    wallet.set_coldkeypub(kp, encrypt=False, overwrite=True)

    def forward(synapse: Dummy) -> Dummy:
        synapse.dummy_output = synapse.dummy_input * 2
        return synapse

    Tale = tale_class()

    def tale(synapse: Tale) -> bt.StreamingSynapse.BTStreamingResponse:
        async def streamer(send):
            for i in range(synapse.words):
                body = f"word{i} ".encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return synapse.create_streaming_response(streamer)

    axon = bt.Axon(wallet=wallet, ip="127.0.0.1", port=cfg["port"], external_ip="127.0.0.1")
    axon.attach(forward_fn=forward)
    axon.attach(forward_fn=tale)
    axon.start()
    print(json.dumps({"port": cfg["port"], "hotkey": kp.ss58_address}), flush=True)
    sys.stdin.read()
    axon.stop()
    return None


def dendrite10(cfg):
    patch_external_ip()
    import aiohttp
    import bittensor as bt
    from bittensor_wallet import Keypair

    Dummy = dummy_class()

    class Unknown(bt.Synapse):
        x: int = 0

    host, port = cfg["addr"].split(":")
    axon = bt.AxonInfo(version=0, ip=host, port=int(port), ip_type=4,
                       hotkey=cfg["axon_hotkey"], coldkey=cfg["axon_hotkey"])
    member = Keypair.create_from_uri(cfg["member_uri"])
    stranger = Keypair.create_from_uri(cfg["stranger_uri"])

    class ForgingDendrite(bt.Dendrite):
        """Signs with the stranger's key while claiming the member's hotkey."""

        def preprocess_synapse_for_request(self, target_axon_info, synapse, timeout=12.0):
            synapse = super().preprocess_synapse_for_request(target_axon_info, synapse, timeout)
            d = synapse.dendrite
            message = f"{d.nonce}.{d.hotkey}.{synapse.axon.hotkey}.{d.uuid}.{synapse.body_hash}"
            d.signature = "0x" + stranger.sign(message).hex()
            return synapse

    def outcome(r):
        return {"status": r.dendrite.status_code, "message": r.dendrite.status_message,
                "output": getattr(r, "dummy_output", None)}

    async def raw(dendrite, synapse, body, timeout=5.0):
        s = dendrite.preprocess_synapse_for_request(axon, synapse, timeout)
        headers = s.to_headers()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://{cfg['addr']}/{s.name}", headers=headers, json=body) as r:
                return {"status": r.status, "message": (await r.json()).get("message")}

    async def run():
        results = {}
        good = bt.Dendrite(wallet=member)
        results["success"] = outcome(await good.forward(axon, Dummy(dummy_input=21), timeout=5))
        results["bad_signature"] = outcome(
            await ForgingDendrite(wallet=member).forward(axon, Dummy(dummy_input=21), timeout=5))
        results["blacklisted"] = outcome(
            await bt.Dendrite(wallet=stranger).forward(axon, Dummy(dummy_input=21), timeout=5))
        results["unknown"] = outcome(await good.forward(axon, Unknown(), timeout=5))
        results["timeout"] = outcome(await good.forward(axon, Dummy(dummy_input=-1), timeout=4.0))
        tampered = Dummy(dummy_input=21).model_dump()
        tampered["dummy_input"] = 22
        results["body_hash"] = await raw(good, Dummy(dummy_input=21), tampered)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://{cfg['addr']}/Dummy", json={"dummy_input": 1}) as r:
                results["unsigned"] = {"status": r.status, "message": (await r.json()).get("message")}
        results["again"] = outcome(await good.forward(axon, Dummy(dummy_input=5), timeout=5))
        await good.aclose_session()
        return results

    return asyncio.run(run())


def pyrepr(cfg):
    def get_hash(text):  # bittensor.utils.get_hash
        return hashlib.sha3_256(text.encode()).hexdigest()

    out = []
    for text in cfg["values"]:
        value = json.loads(text)
        out.append({"str": str(value), "hash": get_hash(get_hash(str(value)))})
    return out


def epistula(cfg):
    from bittensor_wallet import Keypair

    def message(body, uuid, timestamp, signed_for):
        return f"{hashlib.sha256(body).hexdigest()}.{uuid}.{timestamp}.{signed_for or ''}"

    checked = []
    for req in cfg["requests"]:
        h = {k.lower(): v for k, v in req["headers"].items()}
        body = req["body"].encode()
        kp = Keypair(ss58_address=h["epistula-signed-by"])
        ok = kp.verify(message(body, h["epistula-uuid"], int(h["epistula-timestamp"]),
                               h.get("epistula-signed-for")), h["epistula-request-signature"])
        fresh = int(h["epistula-timestamp"]) + 8000 >= round(time.time() * 1000)
        checked.append(bool(ok) and fresh and len(h["epistula-uuid"]) == 36)

    sender = Keypair.create_from_uri(cfg["member_uri"])

    def send(body, signed_for, timestamp=None, uuid=None):
        timestamp = timestamp or round(time.time() * 1000)
        uuid = uuid or str(uuidlib.uuid4())
        headers = {
            "Epistula-Version": "2",
            "Epistula-Timestamp": str(timestamp),
            "Epistula-Uuid": uuid,
            "Epistula-Signed-By": sender.ss58_address,
            "Epistula-Request-Signature": "0x" + sender.sign(message(body, uuid, timestamp, signed_for)).hex(),
            "Content-Type": "application/json",
        }
        if signed_for:
            headers["Epistula-Signed-For"] = signed_for
        return post(f"http://{cfg['addr']}/Dummy", body, headers)

    body = json.dumps({"dummy_input": 4}).encode()
    fixed_uuid = str(uuidlib.uuid4())
    now = round(time.time() * 1000)
    sent = {
        "success": send(body, cfg["axon_hotkey"], now, fixed_uuid),
        "replay": send(body, cfg["axon_hotkey"], now, fixed_uuid),
        "stale": send(body, cfg["axon_hotkey"], now - 9000),
        "unbound": send(body, None),
        "other_receiver": send(body, sender.ss58_address),
    }
    return {"checked": checked, "sent": sent}


def btauth11(cfg):
    from bittensor import http_auth
    from bittensor.sp_core import Keypair

    verified = []
    for req in cfg["requests"]:
        try:
            caller = http_auth.verify(req["headers"], req["body"].encode(), method=req["method"],
                                      path=req["path"], self_hotkey_ss58=cfg["axon_hotkey"])
            verified.append(caller.hotkey_ss58)
        except http_auth.AuthError as e:
            verified.append(type(e).__name__)

    member = Keypair.create_from_uri(cfg["member_uri"])
    body = json.dumps({"dummy_input": 8}).encode()

    def send(receiver, nonce=None, path="/Dummy"):
        headers = http_auth.sign(member, method="POST", path=path, body=body,
                                 receiver_ss58=receiver, nonce_ns=nonce)
        headers["Content-Type"] = "application/json"
        return headers, post(f"http://{cfg['addr']}{path}", body, headers)

    headers, first = send(cfg["axon_hotkey"])
    sent = {
        "success": first,
        "replay": post(f"http://{cfg['addr']}/Dummy", body, headers),
        "wrong_receiver": send(member.ss58_address)[1],
        "unbound": send(None)[1],
        "stale": send(cfg["axon_hotkey"], nonce=time.time_ns() - 11_000_000_000)[1],
        "future": send(cfg["axon_hotkey"], nonce=time.time_ns() + 60_000_000_000)[1],
    }
    return {"verified": verified, "sent": sent}


def synapse10(cfg):
    """Declares each case's synapse class from field types, sends it, returns its outputs.

    A case is {"name", "inputs": {field: type}, "outputs": {field: type}, "hash_fields": [...],
    "request": {field: value}}; types are int, str, list[int] and list[str].
    """
    patch_external_ip()
    import bittensor as bt
    from bittensor_wallet import Keypair

    types = {"int": int, "str": str, "list[int]": typing.List[int], "list[str]": typing.List[str]}
    host, port = cfg["addr"].split(":")
    axon = bt.AxonInfo(version=0, ip=host, port=int(port), ip_type=4,
                       hotkey=cfg["axon_hotkey"], coldkey=cfg["axon_hotkey"])

    def synapse_class(case):
        annotations = {name: types[t] for name, t in case["inputs"].items()}
        namespace = {}
        for name, t in case["outputs"].items():
            annotations[name] = typing.Optional[types[t]]
            namespace[name] = None
        annotations["required_hash_fields"] = typing.ClassVar[typing.Tuple[str, ...]]
        namespace["required_hash_fields"] = tuple(case["hash_fields"])
        namespace["__annotations__"] = annotations
        return type(case["name"], (bt.Synapse,), namespace)

    async def run():
        dendrite = bt.Dendrite(wallet=Keypair.create_from_uri(cfg["member_uri"]))
        results = []
        for case in cfg["cases"]:
            cls = synapse_class(case)
            r = await dendrite.forward(axon, cls(**case["request"]), timeout=10)
            results.append({
                "status": r.dendrite.status_code,
                "message": r.dendrite.status_message,
                "outputs": {name: getattr(r, name) for name in case["outputs"]},
            })
        await dendrite.aclose_session()
        return results

    return asyncio.run(run())


def stream10(cfg):
    """Reads a streaming task with the SDK's own StreamingSynapse and Dendrite.call_stream."""
    patch_external_ip()
    import bittensor as bt
    from bittensor_wallet import Keypair

    host, port = cfg["addr"].split(":")
    axon = bt.AxonInfo(version=0, ip=host, port=int(port), ip_type=4,
                       hotkey=cfg["axon_hotkey"], coldkey=cfg["axon_hotkey"])
    seen = {}
    Tale = tale_class(seen)

    async def run():
        dendrite = bt.Dendrite(wallet=Keypair.create_from_uri(cfg["member_uri"]))
        chunks, final = [], None
        async for item in dendrite.call_stream(axon, Tale(words=cfg["words"]), timeout=10,
                                               deserialize=False):
            if isinstance(item, bt.Synapse):
                final = item
            else:
                chunks.append(item)
        await dendrite.aclose_session()
        return {"text": "".join(chunks), "status": final.dendrite.status_code,
                "message": final.dendrite.status_message, **seen}

    return asyncio.run(run())


if __name__ == "__main__":
    mode = sys.argv[1]
    cfg = json.loads(sys.stdin.readline() or "{}")
    result = globals()[mode](cfg)
    if result is not None:
        print(json.dumps(result), flush=True)
