"""Kafka over TLS with SCRAM (KAFKA_SECURITY_PROTOCOL=SASL_SSL), the way a managed or Strimzi
cluster is reached: the kit's producer, admin client and consumer (a follower) publish and read
through a SASL_SSL listener; a wrong password and a client without TLS or SASL are refused
with an error, not a hang. A second listener requires a client certificate (mTLS:
KAFKA_SSL_CERTFILE / KAFKA_SSL_KEYFILE / KAFKA_SSL_KEY_PASSWORD). The broker checks ACLs
(KRaft's StandardAuthorizer): the test user is a super user, a second user has no ACL at all,
as a service's user on a managed cluster has none to create topics, and its refusals reach the
caller at once instead of being retried as an outage.

The broker is this module's own (scripts/stack kafka-instance, from the stack's Kafka jars), so
the shared test broker is never reconfigured: a CA and a broker certificate made here (PEM
keystore), two SCRAM-SHA-512 users added when its storage is formatted, a SASL_SSL and an SSL
listener beside the PLAINTEXT one the stack script probes for readiness. Half a gigabyte of
heap at most; stopped at the end of the module."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import secrets
import shutil
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import Message, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options, use_kafka_settings
from punchcard_kit.messaging.consumer import ConsumerLoop
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.messaging.producer import start_producer
from punchcard_kit.messaging.topics import ensure_topics_exist
from punchcard_kit.retry import retry_transient
from punchcard_kit.settings import KafkaSettings
from structlog.testing import capture_logs

from tests.support import kafka_instance
from tests.support.stack import REPO

USER = "punchcard-test"
PASSWORD = secrets.token_hex(16)
LIMITED_USER = "punchcard-no-acls"
LIMITED_PASSWORD = secrets.token_hex(16)
KEY_PASSWORD = secrets.token_hex(8)


def _kafka_libs() -> Path:
    """Where scripts/stack keeps the Kafka jars (PUNCHCARD_STACK, PUNCHCARD_LOCAL say)."""
    profile = os.environ.get("PUNCHCARD_STACK", "run")
    default = REPO / ".local" / ("test-stack" if profile == "test" else "")
    return Path(os.environ.get("PUNCHCARD_LOCAL", default)) / "kafka" / "libs"


def _why_no_broker() -> str | None:
    if shutil.which("java") is None:
        return "no 'java' on PATH: Kafka cannot run here"
    libs = _kafka_libs()
    if not any(libs.glob("kafka_2.13-*.jar")) and shutil.which("mvn") is None:
        return f"the Kafka jars are absent ({libs}) and there is no 'mvn' to fetch them"
    return None


pytestmark = pytest.mark.skipif(_why_no_broker() is not None, reason=_why_no_broker() or "")


def _certificates(directory: Path) -> dict[str, Path]:
    """A CA (ca.pem); a broker certificate it signed for 127.0.0.1 and localhost, with its key,
    as the PEM keystore Kafka reads (broker.pem); a client certificate (client.pem) and its
    key, encrypted with KEY_PASSWORD (client.key), for mTLS."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "punchcard test kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    keystore = directory / "broker.pem"
    keystore.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
        + ca.public_bytes(serialization.Encoding.PEM)
    )
    keystore.chmod(0o600)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "punchcard-test")]))
        .issuer_name(ca_name)
        .public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    client_cert = directory / "client.pem"
    client_cert.write_bytes(client.public_bytes(serialization.Encoding.PEM))
    client_keyfile = directory / "client.key"
    client_keyfile.write_bytes(
        client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
        )
    )
    return {"ca": ca_file, "keystore": keystore, "cert": client_cert, "key": client_keyfile}


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory):
    """This module's own broker: its SASL_SSL and its SSL (client certificate required)
    bootstrap addresses, and the certificate files."""
    directory = tmp_path_factory.mktemp("kafka-sasl-ssl")
    files = _certificates(directory)

    def configure(directory: Path, port: int) -> None:
        secure, mutual = port + 2, port + 3
        (directory / "extra.properties").write_text(
            "\n".join(
                [
                    f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1},"
                    f"SASL_SSL://127.0.0.1:{secure},SSL://127.0.0.1:{mutual}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},"
                    f"SASL_SSL://127.0.0.1:{secure},SSL://127.0.0.1:{mutual}",
                    "listener.security.protocol.map="
                    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL",
                    "sasl.enabled.mechanisms=SCRAM-SHA-512",
                    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                    "ssl.keystore.type=PEM",
                    f"ssl.keystore.location={files['keystore']}",
                    "ssl.truststore.type=PEM",
                    f"ssl.truststore.location={files['ca']}",
                    "ssl.client.auth=none",
                    "listener.name.ssl.ssl.client.auth=required",
                    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                    # the stack script's readiness probe and the controller listener
                    # (PLAINTEXT: ANONYMOUS), the test user, the mTLS client certificate
                    f"super.users=User:ANONYMOUS;User:{USER};User:CN=punchcard-test",
                    "",
                ]
            )
        )
        (directory / "format.args").write_text(
            f"--add-scram\nSCRAM-SHA-512=[name={USER},password={PASSWORD}]\n"
            f"--add-scram\nSCRAM-SHA-512=[name={LIMITED_USER},password={LIMITED_PASSWORD}]\n"
        )

    port = kafka_instance.start(directory, count=4, configure=configure)
    secure, mutual = port + 2, port + 3
    try:
        yield {"sasl_ssl": f"127.0.0.1:{secure}", "mtls": f"127.0.0.1:{mutual}", **files}
    finally:
        kafka_instance.kill(directory)


def _settings(ca_file: Path | None, **overrides) -> KafkaSettings:
    values = dict(
        environment="test",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=USER,
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=str(ca_file) if ca_file else None,
    )
    values.update(overrides)
    return KafkaSettings(**values)


@pytest.fixture
def as_settings():
    """Make the kit build every client with the given settings; back to the environment's after."""
    yield use_kafka_settings
    use_kafka_settings(None)


async def test_the_kit_publishes_and_reads_over_sasl_ssl(secure_kafka, as_settings):
    bootstrap, ca_file = secure_kafka["sasl_ssl"], secure_kafka["ca"]
    as_settings(_settings(ca_file))
    topic = f"secure.frames.{uuid.uuid4().hex[:8]}"
    # The kit's admin client (topics), its producer (the relay's) and a follower's consumer.
    assert await ensure_topics_exist(bootstrap, [(topic, 3, 1, {})]) == [topic]
    frames = {f"attempt-{i}": os.urandom(1024).hex() for i in range(20)}
    producer = await start_producer(bootstrap, client_id="sasl-ssl-test")
    try:
        for key, frame in frames.items():
            env = new_envelope(
                wrappers_pb2.StringValue(value=frame), tenant_id=uuid.uuid4(), producer="test"
            )
            await producer.send_and_wait(topic, encode_envelope(env), key=key.encode())
    finally:
        await producer.stop()

    read: dict[str, str] = {}
    done = asyncio.Event()

    async def handle(message: Message) -> None:
        read[message.key.decode()] = message.payload.value
        if len(read) >= len(frames):
            done.set()

    follower = TopicFollower(
        topics=[topic],
        handler=handle,
        bootstrap_servers=bootstrap,
        name="sasl-ssl-test",
        from_beginning=True,
    )
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        follower.stop()
        await task
    assert read == frames


async def _start_admin(options: dict) -> None:
    admin = AIOKafkaAdminClient(**options)
    try:
        await admin.start()
        await admin.list_topics()
    finally:
        await admin.close()


async def test_a_wrong_password_is_refused_with_an_error(secure_kafka, caplog):
    bootstrap, ca_file = secure_kafka["sasl_ssl"], secure_kafka["ca"]
    wrong = _settings(ca_file, kafka_sasl_password="not-" + PASSWORD)
    with pytest.raises(KafkaError) as refused:
        await asyncio.wait_for(
            _start_admin(kafka_options(bootstrap, settings=wrong, request_timeout_ms=20_000)),
            timeout=60,
        )
    # aiokafka gives up on the bootstrap servers; the reason is in its log line, which the
    # service's own log shows next to its "kafka ... failed" line.
    said = f"{refused.value} " + " ".join(r.getMessage() for r in caplog.records)
    assert "SaslAuthenticationFailed" in said and "invalid credentials" in said, said
    assert PASSWORD not in said


def _plaintext(ca_file: Path) -> KafkaSettings:
    return KafkaSettings(environment="test")


def _tls_without_sasl(ca_file: Path) -> KafkaSettings:
    return KafkaSettings(
        environment="test", kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca_file)
    )


def _sasl_ssl_trusting_only_the_system_cas(ca_file: Path) -> KafkaSettings:
    return _settings(None)


@pytest.mark.parametrize(
    "client", [_plaintext, _tls_without_sasl, _sasl_ssl_trusting_only_the_system_cas]
)
async def test_a_client_without_tls_sasl_or_the_ca_is_refused(secure_kafka, client):
    bootstrap, ca_file = secure_kafka["sasl_ssl"], secure_kafka["ca"]
    options = kafka_options(bootstrap, settings=client(ca_file), request_timeout_ms=20_000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(_start_admin(options), timeout=60)


def _mtls(files: dict[str, Path], **overrides) -> KafkaSettings:
    values = dict(
        environment="test",
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=str(files["ca"]),
        kafka_ssl_certfile=str(files["cert"]),
        kafka_ssl_keyfile=str(files["key"]),
        kafka_ssl_key_password=KEY_PASSWORD,
    )
    values.update(overrides)
    return KafkaSettings(**values)


async def test_mutual_tls_with_a_client_certificate(secure_kafka, as_settings):
    bootstrap = secure_kafka["mtls"]
    as_settings(_mtls(secure_kafka))
    topic = f"secure.mtls.{uuid.uuid4().hex[:8]}"
    assert await ensure_topics_exist(bootstrap, [(topic, 1, 1, {})]) == [topic]
    producer = await start_producer(bootstrap, client_id="mtls-test")
    try:
        sent = await producer.send_and_wait(topic, b"frame", key=b"k")
    finally:
        await producer.stop()
    assert sent.offset == 0

    # The same TLS without a client certificate: the listener requires one.
    without = _mtls(
        secure_kafka, kafka_ssl_certfile=None, kafka_ssl_keyfile=None, kafka_ssl_key_password=None
    )
    options = kafka_options(bootstrap, settings=without, request_timeout_ms=20_000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(_start_admin(options), timeout=60)


async def test_a_user_without_acls_is_refused_at_once(secure_kafka, as_settings, capsys):
    """A service's user on a managed cluster may not create topics: a missing dead-letter topic
    stops its consumer with the line that says what to apply, and ``punchcard-topics``' call
    raises the broker's refusal; neither waits it out as a server that is down."""
    bootstrap, ca_file = secure_kafka["sasl_ssl"], secure_kafka["ca"]
    as_settings(
        _settings(ca_file, kafka_sasl_username=LIMITED_USER, kafka_sasl_password=LIMITED_PASSWORD)
    )
    topic = f"secure.refused.{uuid.uuid4().hex[:8]}"
    with pytest.raises(TopicAuthorizationFailedError) as refused:
        await retry_transient(
            "kafka admin", lambda: ensure_topics_exist(bootstrap, [(topic, 1, 1, {})])
        )
    assert topic in str(refused.value)

    loop = ConsumerLoop(
        group_id=f"secure-refused-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        handler=lambda *_: None,
        pool=None,
        bootstrap_servers=bootstrap,
    )
    with capture_logs() as logged, pytest.raises(TopicAuthorizationFailedError):
        await asyncio.wait_for(loop.run(), timeout=60)
    said = " ".join(str(line) for line in logged)  # the kit's log lines
    assert "dead-letter topic missing and this service may not create it" in said, said
    assert "server unavailable, retrying" not in said, said
    assert LIMITED_PASSWORD not in said
