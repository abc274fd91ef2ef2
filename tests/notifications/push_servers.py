"""Local push services that speak the real protocols, for the push delivery tests: a Web
Push endpoint (decrypts aes128gcm with the subscription's private key, checks the VAPID
JWT), FCM HTTP v1 (the OAuth2 token exchange and messages:send) and APNs (HTTP/2 over TLS,
written with h2). Each runs in a thread on loopback, checks what a real service checks, and
answers the real error bodies; a test scripts answers per target and reads what arrived."""

from __future__ import annotations

import base64
import collections
import datetime
import ipaddress
import json
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import http_ece
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import Device
from apps.notifications.push import PushMessage, apns, fcm, vapid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def push_message(n: int = 1, **changes: Any) -> PushMessage:
    fields: dict[str, Any] = {
        "title": "maya and 41 others liked your video", "body": "“Sunset run” 🌅",
        "url": "/@maya/video/123", "collapse_key": "like:post:123",
        "notification_id": f"9{n}", "type": "like", "badge": 3}
    fields.update(changes)
    return PushMessage(**fields)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# (status, headers, body) answered for one request; a list per target is used in order.
Script = tuple[int, dict[str, str], bytes]


@dataclass
class Arrived:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any = None  # decrypted / parsed
    problems: list[str] = field(default_factory=list)


class _Scripts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[str, collections.deque[Script]] = {}
        self.arrived: list[Arrived] = []

    def script(self, target: str, *answers: Script) -> None:
        with self.lock:
            self.answers.setdefault(target, collections.deque()).extend(answers)

    def next_for(self, target: str, default: Script) -> Script:
        with self.lock:
            queue = self.answers.get(target)
            return queue.popleft() if queue else default

    def record(self, arrived: Arrived) -> None:
        with self.lock:
            self.arrived.append(arrived)

    def to(self, target_fragment: str) -> list[Arrived]:
        with self.lock:
            return [a for a in self.arrived if target_fragment in a.path]


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


class _Http(ThreadingHTTPServer):
    daemon_threads = True


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Http, str]:
    server = _Http(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- Web Push -------------------------------------------------------------------------------


@dataclass
class BrowserSubscription:
    """What a browser makes: a P-256 key pair and a 16-byte auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return b64url(raw)

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


class WebPushService(_Scripts):
    """A push service: POST /push/<id>. Checks the VAPID Authorization header (ES256 JWT
    signed by the key in k=, aud = this origin, exp within 24 h, a sub), TTL, Urgency and
    Content-Encoding, decrypts the body with the subscription's private key; 400/401
    (as a real service would) when a check fails. Then the scripted answer, else 201."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, BrowserSubscription] = {}
        self.expected_vapid_key = ""
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, headers, answer = service.handle(self.path, dict(self.headers), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server, self.origin = _serve(Handler)

    def subscription(self) -> BrowserSubscription:
        sid = secrets.token_urlsafe(12)
        sub = BrowserSubscription(f"{self.origin}/push/{sid}",
                                  ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))
        self.subscriptions[f"/push/{sid}"] = sub
        return sub

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Script:
        arrived = Arrived(path, {k.lower(): v for k, v in headers.items()}, body)
        self.record(arrived)
        h = arrived.headers
        sub = self.subscriptions.get(path)
        if sub is None:
            return 404, {}, b"no such subscription"
        scheme, _, params = h.get("authorization", "").partition(" ")
        parts = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in parts or "k" not in parts:
            arrived.problems.append("no vapid authorization")
            return 401, {}, b"missing VAPID"
        if self.expected_vapid_key and parts["k"] != self.expected_vapid_key:
            arrived.problems.append("unexpected vapid key")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                              b64url_decode(parts["k"]))
        try:
            claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=self.origin,
                                options={"require": ["exp", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            arrived.problems.append(f"jwt: {exc}")
            return 401, {}, b"bad VAPID JWT"
        if claims["exp"] > time.time() + 24 * 3600:
            arrived.problems.append("exp more than 24 h ahead")
            return 401, {}, b"exp too far"
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            arrived.problems.append("sub")
        if not h.get("ttl", "").isdigit():
            arrived.problems.append("TTL")
            return 400, {}, b"TTL required"
        if h.get("urgency", "normal") not in ("very-low", "low", "normal", "high"):
            arrived.problems.append("Urgency")
        if h.get("content-encoding") != "aes128gcm" or len(body) > 4096:
            arrived.problems.append("encoding or size")
            return 400, {}, b"bad body"
        plaintext = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth,
                                     version="aes128gcm")
        arrived.payload = json.loads(plaintext)
        return self.next_for(path, (201, {"Location": f"{self.origin}/m/1"}, b""))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- FCM HTTP v1 ----------------------------------------------------------------------------


def fcm_error(code: int, status: str, error_code: str, message: str) -> bytes:
    return _json({"error": {"code": code, "message": message, "status": status, "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
         "errorCode": error_code}]}})


UNREGISTERED: Script = (404, {}, fcm_error(404, "NOT_FOUND", "UNREGISTERED",
                                   "Requested entity was not found."))
INVALID_ARGUMENT: Script = (400, {}, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                                       "The registration token is not a valid FCM "
                                       "registration token"))
QUOTA_EXCEEDED: Script = (429, {"Retry-After": "1"}, fcm_error(
    429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric"))
UNAVAILABLE: Script = (503, {}, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", "The service is "
                                  "currently unavailable."))


class FcmService(_Scripts):
    """The OAuth2 token endpoint (verifies the RS256 assertion with the service account's
    public key) and messages:send (checks the bearer token and the message)."""

    PROJECT = "swipeme-test"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_email = "push@swipeme-test.iam.gserviceaccount.com"
        self.issued: dict[str, float] = {}
        self.token_requests = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/token":
                    status, extra, answer = service.token(body)
                else:
                    status, extra, answer = service.send(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server, self.origin = _serve(Handler)
        self.account_file = directory / "fcm-service-account.json"
        self.account_file.write_text(json.dumps({
            "type": "service_account", "project_id": self.PROJECT,
            "private_key_id": "key-1", "client_email": self.client_email,
            "token_uri": f"{self.origin}/token",
            "private_key": self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode(),
        }))

    def token(self, body: bytes) -> Script:
        with self.lock:
            self.token_requests += 1
        form = urllib.parse.parse_qs(body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {}, _json({"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(form["assertion"][0], self.key.public_key(),
                                algorithms=["RS256"], audience=f"{self.origin}/token",
                                issuer=self.client_email,
                                options={"require": ["exp", "iat", "iss", "aud"]})
        except (jwt.PyJWTError, KeyError) as exc:
            return 400, {}, _json({"error": "invalid_grant", "error_description": str(exc)})
        if claims.get("scope") != "https://www.googleapis.com/auth/firebase.messaging":
            return 400, {}, _json({"error": "invalid_scope"})
        access = "ya29." + secrets.token_urlsafe(24)
        with self.lock:
            self.issued[access] = time.time() + 3600
        return 200, {}, _json({"access_token": access, "expires_in": 3599,
                               "token_type": "Bearer"})

    def send(self, path: str, headers: dict[str, str], body: bytes) -> Script:
        if path != f"/v1/projects/{self.PROJECT}/messages:send":
            return 404, {}, _json({"error": {"code": 404, "status": "NOT_FOUND"}})
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if self.issued.get(bearer, 0) < time.time():
            return 401, {}, _json({"error": {"code": 401, "status": "UNAUTHENTICATED",
                                             "message": "Request had invalid credentials."}})
        message = json.loads(body)["message"]
        arrived = Arrived(message.get("token", ""), headers, body, payload=message)
        self.record(arrived)
        android = message.get("android", {})
        if not android.get("collapse_key") or not android.get("notification", {}).get("tag"):
            arrived.problems.append("collapse key")
        if len(body) > 4096:
            return 400, {}, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                                      "Message is too big")
        name = f"projects/{self.PROJECT}/messages/{secrets.randbelow(10**12)}"
        return self.next_for(message["token"], (200, {}, _json({"name": name})))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- APNs (HTTP/2 over TLS) -----------------------------------------------------------------


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1/localhost it signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SwipeMe test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = (directory / "apns-ca.pem", directory / "apns-cert.pem",
                                    directory / "apns-key.pem")
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


def apns_error(status: int, reason: str, headers: dict[str, str] | None = None) -> Script:
    body: dict[str, Any] = {"reason": reason}
    if status == 410:
        body["timestamp"] = int(time.time() * 1000)
    return status, headers or {}, _json(body)


class ApnsService(_Scripts):
    """APNs' provider API: POST /3/device/<token> over HTTP/2 (TLS, ALPN h2). Verifies the
    provider token (ES256 with the team's .p8 key, kid, iss = team id, iat within the hour)
    and the apns-* headers; answers 200 with an apns-id or the scripted error."""

    TEAM_ID = "TEAM123456"
    KEY_ID = "KEY7654321"
    TOPIC = "com.swipeme.app"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.p8_file = directory / f"AuthKey_{self.KEY_ID}.p8"
        self.p8_file.write_bytes(self.signing_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.ca_file, cert_file, key_file = _certificates(directory)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert_file, key_file)
        self.context.set_alpn_protocols(["h2"])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.origin = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.alpn: list[str | None] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self.lock:
            self.connections += 1
            self.alpn.append(tls.selected_alpn_protocol())
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        try:
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {(k.decode() if isinstance(k, bytes) else k):
                                   (v.decode() if isinstance(v, bytes) else v)
                                   for k, v in event.headers}
                        streams[event.stream_id] = (headers, bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        status, extra, answer = self.handle(headers, bytes(body))
                        response = [(":status", str(status)),
                                    ("apns-id", secrets.token_hex(16)),
                                    ("content-length", str(len(answer)))]
                        response += [(k.lower(), v) for k, v in extra.items()]
                        conn.send_headers(event.stream_id, response,
                                          end_stream=not answer)
                        if answer:
                            conn.send_data(event.stream_id, answer, end_stream=True)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                tls.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError):
            pass
        finally:
            tls.close()

    def handle(self, headers: dict[str, str], body: bytes) -> Script:
        path = headers.get(":path", "")
        arrived = Arrived(path, headers, body)
        self.record(arrived)
        if headers.get(":method") != "POST" or not path.startswith("/3/device/"):
            return apns_error(405, "MethodNotAllowed")
        bearer = headers.get("authorization", "")
        if not bearer.startswith("bearer "):
            return apns_error(403, "MissingProviderToken")
        token = bearer.removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.signing_key.public_key(), algorithms=["ES256"],
                                options={"require": ["iat", "iss"]})
        except jwt.PyJWTError:
            return apns_error(403, "InvalidProviderToken")
        if header.get("kid") != self.KEY_ID or claims["iss"] != self.TEAM_ID:
            return apns_error(403, "InvalidProviderToken")
        if time.time() - claims["iat"] > 3600:
            return apns_error(403, "ExpiredProviderToken")
        if headers.get("apns-topic") != self.TOPIC:
            return apns_error(400, "BadTopic" if headers.get("apns-topic") else "MissingTopic")
        if headers.get("apns-push-type") != "alert":
            return apns_error(400, "InvalidPushType")
        collapse = headers.get("apns-collapse-id", "")
        if not collapse or len(collapse.encode()) > 64:
            return apns_error(400, "BadCollapseId")
        if headers.get("apns-priority") not in ("5", "10"):
            return apns_error(400, "BadPriority")
        if not headers.get("apns-expiration", "").isdigit():
            return apns_error(400, "BadExpirationDate")
        if len(body) > 4096:
            return apns_error(413, "PayloadTooLarge")
        arrived.payload = json.loads(body)
        return self.next_for(path.removeprefix("/3/device/"), (200, {}, b""))

    def close(self) -> None:
        self.closed = True
        self.listener.close()


# --- fixtures (registered for tests/notifications by its conftest) ----------------------------


SUBSCRIPTIONS_URL = "/api/v1/notifications/webpush/subscriptions"


def signed_in(user: Any) -> APIClient:
    """A browser's API client: a real session (subscriptions live as long as it)."""
    client = APIClient()
    client.force_login(user)
    return client


def push_device(user: Any, platform: str, token: str) -> Device:
    """A logged-in install that registered its token (as the app does after log-in)."""
    client = Client()
    client.force_login(user)  # the install's own, signed-in session
    return Device.objects.create(user=user, platform=platform, push_token=token,
                                 device_identifier=secrets.token_hex(4),
                                 session_key=client.session.session_key or "")


def made_vapid_key() -> str:
    """The key `manage.py notifications_vapid_keys` writes where the settings say."""
    call_command("notifications_vapid_keys", stdout=StringIO())
    key = vapid.public_key_b64url()
    assert key
    return key


def running_webpush_service(vapid_key: str) -> Iterator[WebPushService]:
    """A push service that expects this VAPID key, closed after the test."""
    found = WebPushService()
    found.expected_vapid_key = vapid_key
    yield found
    found.close()


@pytest.fixture
def vapid_key(settings: Any, tmp_path: Path) -> str:
    settings.SWIPEME_VAPID_PRIVATE_KEY = ""
    settings.SWIPEME_VAPID_KEY_FILE = tmp_path / "vapid" / "private_key.pem"
    return made_vapid_key()


@pytest.fixture
def webpush_service(vapid_key: str) -> Iterator[WebPushService]:
    yield from running_webpush_service(vapid_key)


@pytest.fixture
def fcm_service(settings: Any, tmp_path: Path) -> Iterator[FcmService]:
    service = FcmService(tmp_path)
    settings.SWIPEME_FCM_SERVICE_ACCOUNT_FILE = str(service.account_file)
    settings.SWIPEME_FCM_BASE_URL = service.origin
    fcm._tokens.clear()  # a token cached from another test's service means nothing here
    yield service
    service.close()


@pytest.fixture
def apns_service(settings: Any, tmp_path: Path) -> Iterator[ApnsService]:
    service = ApnsService(tmp_path)
    settings.SWIPEME_APNS_KEY_FILE = str(service.p8_file)
    settings.SWIPEME_APNS_KEY_ID = service.KEY_ID
    settings.SWIPEME_APNS_TEAM_ID = service.TEAM_ID
    settings.SWIPEME_APNS_TOPIC = service.TOPIC
    settings.SWIPEME_APNS_BASE_URL = service.origin
    settings.SWIPEME_APNS_CA_FILE = str(service.ca_file)
    apns.provider_token.clear()
    yield service
    service.close()
