"""Transport details against real aiosmtpd servers: STARTTLS with AUTH, connection reuse,
and a server that goes quiet after the data."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from weekly.config import DeliverySettings
from weekly.deliver.backends.smtp import Connection, connections, local_name
from weekly.deliver.outcomes import Outcome, Verdict
from weekly.deliver.pacing import Pacer
from weekly.errors import WeeklyError

from .smtp import Recorder, configure, only, smtp_server, subscribers, write_list
from .storerows import deliveries, state_counts
from .test_send import Run

# Every test here runs on SQLite files and on a PostgreSQL database (conftest `store`).
pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture(autouse=True)
def six_readers(ready: Path) -> None:
    write_list(ready, subscribers(6))


def self_signed(cert: Path, key: Path) -> None:
    """Write a one-day self-signed certificate for 127.0.0.1 and its key as PEM."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 that this test's clients trust."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_and_auth_with_the_password_from_the_environment(
    ready: Path, run_weekly: Run, certificate: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    server = {
        "tls_context": certificate,
        "require_starttls": True,
        "auth_required": True,
        "authenticator": only("editor", "s3cret"),
    }
    with smtp_server(recorder, **server) as port:
        # aiosmtpd stalls on the failed AUTH LOGIN that follows a refused PLAIN: keep it short.
        configure(ready, port, security="starttls", username="editor", timeout=1)
        missing = run_weekly("send", "324", "--yes")
        assert missing.exit_code == 1 and "WEEKLY_SMTP_PASSWORD is not" in missing.output
        monkeypatch.setenv("WEEKLY_SMTP_PASSWORD", "wrong")
        refused = run_weekly("send", "324", "--yes")
        assert refused.exit_code == 1 and "cannot reach the SMTP relay" in refused.output
        assert not recorder.messages
        monkeypatch.setenv("WEEKLY_SMTP_PASSWORD", "s3cret")
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    assert len(recorder.messages) == 6


class Counting(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.greetings = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        return await super().handle_EHLO(server, session, envelope, hostname, responses)


def test_connections_are_replaced_after_messages_per_connection(
    ready: Path, run_weekly: Run
) -> None:
    counting = Counting()
    with smtp_server(counting) as port:
        configure(ready, port, concurrency=1, messages_per_connection=2)
        assert run_weekly("send", "324", "--yes").exit_code == 0
    assert len(counting.messages) == 6
    assert counting.greetings == 1 + 3  # the probe, then one session per two messages


class Silent(Recorder):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(3)
        return "250 OK, but too late"


def test_no_reply_after_the_data_leaves_the_row_uncertain(ready: Path, run_weekly: Run) -> None:
    write_list(ready, subscribers(1))
    with smtp_server(Silent()) as port:
        configure(ready, port, timeout=0.5)
        result = run_weekly("send", "324", "--yes")
        again = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1 and "uncertain 1," in result.output  # a script must hear
    assert "weekly status 324 --failed" in result.output
    assert "Nothing to send." in again.output
    assert [row.state for row in deliveries(ready)] == ["sending"]
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        resent = run_weekly("send", "324", "--yes", "--resend-uncertain")
    assert resent.exit_code == 0 and "Sent 1," in resent.output
    assert list(recorder.accepted()) == ["user0@example.com"]


def test_the_pace_halves_after_trouble_and_recovers() -> None:
    async def scenario() -> None:
        pacer = Pacer(100)
        pacer.slow_down()
        pacer.slow_down()
        assert pacer.rate == 25
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(6):
            await pacer.wait()
        assert loop.time() - started >= 5 / 25 * 0.9

    asyncio.run(scenario())


class Quota(Recorder):
    """Takes the probe's MAIL FROM and three messages, then refuses the sender."""

    def __init__(self) -> None:
        super().__init__()
        self.mails = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.mails += 1
        if self.mails > 4:
            return "550 5.7.1 daily sending quota exceeded"
        envelope.mail_from = address
        return "250 OK"


def test_a_refused_sender_stops_the_run_and_blames_no_recipient(
    ready: Path, run_weekly: Run
) -> None:
    quota = Quota()
    with smtp_server(quota) as port:
        configure(ready, port, concurrency=1)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1
    assert "Stopped: the relay refused the sender (550 5.7.1 daily sending quota" in result.output
    assert state_counts(ready) == {"sent": 3, "pending": 3}


class NoSender(Recorder):
    async def handle_MAIL(self, *args: Any) -> str:
        return "553 5.7.1 sender not allowed"


def test_a_sender_refused_from_the_start_sends_nothing(ready: Path, run_weekly: Run) -> None:
    with smtp_server(NoSender()) as port:
        configure(ready, port)
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 1
    assert "refuses the sender weekly@news.example.com: 553 5.7.1 sender not allowed" in (
        result.output
    )
    assert deliveries(ready) == []


def test_implicit_tls(ready: Path, run_weekly: Run, certificate: ssl.SSLContext) -> None:
    recorder = Recorder()
    with smtp_server(recorder, ssl_context=certificate) as port:
        configure(ready, port, security="tls")
        result = run_weekly("send", "324", "--yes")
    assert result.exit_code == 0, result.output
    assert len(recorder.messages) == 6


class Scripted:
    """A plain SMTP server on 127.0.0.1 in the test's own event loop that keeps every line
    it hears (one list per connection) and answers from `answers` (command verb -> reply
    lines; a `None` reply closes the connection instead). `body` says what follows a 354:
    the body read (""), the connection closed ("close") or never read again ("stall")."""

    def __init__(
        self,
        answers: dict[str, list[str] | None] | None = None,
        body: str = "",
        greeting: str = "220 scripted ESMTP",
    ) -> None:
        self.answers = {"EHLO": ["250-scripted", "250 SMTPUTF8"], **(answers or {})}
        self.body = body
        self.greeting = greeting
        self.heard: list[list[str]] = []
        self.port = 0

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard: list[str] = []
        self.heard.append(heard)
        if self.greeting != "-":  # "-": no greeting at all
            writer.write(f"{self.greeting}\r\n".encode())
        in_data = False
        while line := await reader.readline():
            text = line.decode("utf-8").rstrip("\r\n")
            if in_data:
                in_data = text != "."
                if in_data:
                    continue
            heard.append(text)
            verb = "." if text == "." else text.split(":")[0].split(" ")[0].upper()
            default = {"DATA": ["354 go on"], "QUIT": ["221 bye"]}.get(verb, ["250 OK"])
            reply = self.answers.get(verb, default)
            if reply is None:
                writer.close()
                return
            # surrogateescape: "\udce4" in a reply goes out as the byte 0xe4 (not UTF-8)
            writer.write("".join(f"{r}\r\n" for r in reply).encode("utf-8", "surrogateescape"))
            in_data = verb == "DATA" and reply[-1].startswith("354")
            if in_data and self.body == "close":
                writer.close()
                return
            if in_data and self.body == "stall":
                await asyncio.Event().wait()  # cancelled with the server
            if verb == "QUIT":
                writer.close()
                return


def lane(port: int, **delivery: Any) -> Connection:
    settings = DeliverySettings(
        host="127.0.0.1", port=port, **{"security": "none", "timeout": 5.0, **delivery}
    )
    return connections(settings, None)()


def nothing() -> None:
    return None


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_probe_offers_the_sender_then_resets_and_quits() -> None:
    async def scenario() -> list[list[str]]:
        async with Scripted() as server:
            await lane(server.port).probe("weekly@example.com")
        return server.heard

    assert asyncio.run(scenario()) == [
        [f"EHLO {local_name()}", "MAIL FROM:<weekly@example.com>", "RSET", "QUIT"]
    ]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("answers", "said"),
    [
        ({"MAIL": ["400 4.0.0 try later"]}, "refuses the sender weekly@example.com: 400 4.0.0"),
        ({"MAIL": None}, "dropped the connection (the server closed the connection)"),
        ({"EHLO": None}, "cannot reach the SMTP relay"),
    ],
)
def test_a_probe_that_fails_says_how(answers: dict[str, list[str] | None], said: str) -> None:
    async def scenario() -> str:
        async with Scripted(answers) as server:
            with pytest.raises(WeeklyError) as raised:
                await lane(server.port).probe("weekly@example.com")
        return str(raised.value).replace(f"127.0.0.1:{server.port}", "HOST")

    message = asyncio.run(scenario())
    assert message.startswith("cannot reach the SMTP relay HOST (") or message.startswith(
        "the SMTP relay HOST "
    )
    assert said in message


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_421_that_leaves_the_connection_open_is_not_used_again() -> None:
    async def scenario() -> tuple[list[Outcome], list[list[str]]]:
        async with Scripted({"RCPT": ["421 4.3.2 closing"]}) as server:
            connection = lane(server.port)
            first = await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)
            server.answers.pop("RCPT")
            second = await connection.deliver("w@example.com", "b@example.com", b"y\r\n", nothing)
            await connection.close()
        return [first, second], server.heard

    outcomes, heard = asyncio.run(scenario())
    assert outcomes == [
        Outcome(Verdict.CONNECTION, "421 4.3.2 closing"),
        Outcome(Verdict.SENT, "250 OK"),
    ]
    assert [session[0].split(" ")[0] for session in heard] == ["EHLO", "EHLO"]
    assert heard[1][1:] == ["MAIL FROM:<w@example.com>", "RCPT TO:<b@example.com>", "DATA", ".",
        "QUIT"]  # fmt: skip


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_connection_closed_after_the_end_of_data_is_uncertain() -> None:
    async def scenario() -> Outcome:
        async with Scripted({".": None}) as server:
            connection = lane(server.port)
            return await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)

    assert asyncio.run(scenario()) == Outcome(
        Verdict.UNCERTAIN, "connection lost (end): the server closed the connection"
    )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_relay_gone_while_the_ledger_commits_is_retried_not_uncertain() -> None:
    """The relay closes the connection after the body, while the row's `sending` is being
    committed: the end of data can no longer go out, so the server has no message to hold
    and the row is retried, with the reason."""

    async def scenario() -> Outcome:
        async with Scripted(body="close") as server:
            connection = lane(server.port)

            async def committed() -> None:
                async with asyncio.timeout(5):  # until this side has read the close
                    while connection.session.open:
                        await asyncio.sleep(0.001)

            return await connection.deliver("w@example.com", "a@example.com", b"x\r\n", committed)

    assert asyncio.run(scenario()) == Outcome(
        Verdict.CONNECTION, "connection lost (data): the connection is closed"
    )


BIG = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n" * 150_000


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("stall", "no reply in time (data)"),
        ("close", "connection lost (data): the server closed the connection"),
    ],
)
def test_a_body_the_server_stops_taking_is_retried_not_uncertain(body: str, reply: str) -> None:
    """A body far bigger than the socket's buffers, which the server stops reading or cuts
    off: the end of data never went out, so the message is not with the server."""
    ended: list[bool] = []

    async def scenario() -> Outcome:
        async with Scripted(body=body) as server:
            connection = lane(server.port, timeout=0.1)
            return await connection.deliver(
                "w@example.com", "a@example.com", BIG, lambda: ended.append(True)
            )

    assert asyncio.run(scenario()) == Outcome(Verdict.CONNECTION, reply)
    assert not ended


PIPELINING = ["250-scripted", "250-PIPELINING", "250 SMTPUTF8"]


async def two_messages(server: Scripted) -> list[Outcome]:
    """Deliver to a@ then b@ over one lane, closed after."""
    connection = lane(server.port, timeout=0.3)
    outcomes = [
        await connection.deliver("w@example.com", f"{name}@example.com", b"x\r\n", nothing)
        for name in "ab"
    ]
    await connection.close()
    return outcomes


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("answers", "greeting", "expected"),
    [
        # 251: the server forwards; the message is as good as taken.
        ({"RCPT": ["251 2.1.5 will forward"]}, "", [(Verdict.SENT, "250 OK")] * 2),
        # A 252 at RCPT is no acceptance: refused as a reply outside the exchange.
        (
            {"RCPT": ["252 2.1.5 cannot verify"]},
            "",
            [(Verdict.CONNECTION, "252 2.1.5 cannot verify")] * 2,
        ),
        # A server that refuses at the greeting: its code judges, at the connect stage.
        ({}, "554 5.7.1 no service for you", [(Verdict.HALT, "554 ")] * 2),
        ({}, "421 4.3.2 busy", [(Verdict.CONNECTION, "421 ")] * 2),
        ({}, "200 odd", [(Verdict.CONNECTION, "200 ")] * 2),
        # A reply of several lines is one reply, its texts joined.
        (
            {"RCPT": ["550-5.1.1 no such user", "550 5.1.1 here either"]},
            "",
            [(Verdict.MAILBOX, "550 5.1.1 no such user 5.1.1 here either")] * 2,
        ),
        ({}, "600 odder", [(Verdict.CONNECTION, "connection lost (connect): ")] * 2),
    ],
)
def test_what_each_reply_means_for_the_message(
    answers: dict[str, list[str] | None], greeting: str, expected: list[tuple[Verdict, str]]
) -> None:
    async def scenario() -> list[Outcome]:
        async with Scripted(answers, greeting=greeting or "220 scripted ESMTP") as server:
            return await two_messages(server)

    outcomes = asyncio.run(scenario())
    assert [o.verdict for o in outcomes] == [verdict for verdict, _ in expected]
    assert all(o.reply.startswith(reply) for o, (_, reply) in zip(outcomes, expected, strict=True))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_pipelined_data_let_through_after_a_refused_recipient_is_ended_empty() -> None:
    """A server that refuses the recipient yet answers the pipelined DATA with 354: the
    client ends that empty message at once, so the next transaction starts clean."""
    refusals = {"RCPT": ["550 5.1.1 no such user"], ".": ["554 5.5.1 no valid recipients"]}

    async def scenario() -> tuple[list[Outcome], list[list[str]]]:
        async with Scripted({"EHLO": PIPELINING, **refusals}) as server:
            first = await lane(server.port, timeout=0.3).deliver(
                "w@example.com", "a@example.com", b"x\r\n", nothing
            )
        return [first], server.heard

    outcomes, heard = asyncio.run(scenario())
    assert outcomes == [Outcome(Verdict.MAILBOX, "550 5.1.1 no such user")]
    assert heard[0][1:] == ["MAIL FROM:<w@example.com>", "RCPT TO:<a@example.com>", "DATA", "."]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_nothing_listening_is_a_connection_fault() -> None:
    async def scenario() -> Outcome:
        async with Scripted() as server:
            port = server.port
        return await lane(port).deliver("w@example.com", "a@example.com", b"x\r\n", nothing)

    found = asyncio.run(scenario())
    assert found.verdict is Verdict.CONNECTION
    assert found.reply.startswith("connection lost (connect): ")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_commit_before_the_end_of_data_is_awaited_first() -> None:
    """`before_end` runs once per message, after the body and before the end of data; an
    awaitable it returns is awaited before the end of data goes out."""
    seen: list[list[str]] = []

    async def scenario() -> list[Outcome]:
        async with Scripted() as server:

            async def committed() -> None:
                async with asyncio.timeout(5):  # until the server has read this DATA
                    while server.heard[-1].count("DATA") <= len(seen):
                        await asyncio.sleep(0.001)
                seen.append(list(server.heard[-1]))

            connection = lane(server.port)
            outcomes = [
                await connection.deliver("w@example.com", "a@example.com", b"x\r\n", committed)
                for _ in range(2)
            ]
            await connection.close()
            return outcomes

    assert asyncio.run(scenario()) == [Outcome(Verdict.SENT, "250 OK")] * 2
    assert seen == [
        ["EHLO " + local_name(), "MAIL FROM:<w@example.com>", "RCPT TO:<a@example.com>", "DATA"],
        ["EHLO " + local_name(), "MAIL FROM:<w@example.com>", "RCPT TO:<a@example.com>", "DATA",
            ".", "RSET", "MAIL FROM:<w@example.com>", "RCPT TO:<a@example.com>", "DATA"],
    ]  # fmt: skip


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_body_bigger_than_the_buffers_goes_whole() -> None:
    async def scenario() -> tuple[Outcome, list[list[str]]]:
        async with Scripted() as server:
            connection = lane(server.port, timeout=2)
            found = await connection.deliver("w@example.com", "a@example.com", BIG, nothing)
            await connection.close()
        return found, server.heard

    found, heard = asyncio.run(scenario())
    assert found == Outcome(Verdict.SENT, "250 OK")
    assert heard[0][-2:] == [".", "QUIT"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("security", "said"),
    [
        ("none", ["MAIL FROM:<w@example.com>", "RCPT TO:<a@example.com>", "DATA", "."]),
        ("starttls", ["STARTTLS"]),
    ],
)
def test_starttls_only_when_the_settings_ask_for_it(security: str, said: list[str]) -> None:
    """A relay that offers STARTTLS: plain SMTP stays plain (the editor chose it for this
    machine), and `starttls` insists, failing when the relay then cannot."""
    offers = {"EHLO": ["250-scripted", "250-STARTTLS", "250 SMTPUTF8"]}
    refuses = {"STARTTLS": ["454 4.7.0 TLS not available"]}

    async def scenario() -> tuple[Outcome, list[list[str]]]:
        async with Scripted({**offers, **refuses}) as server:
            connection = lane(server.port, security=security)
            found = await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)
            await connection.close()
        return found, server.heard

    found, heard = asyncio.run(scenario())
    assert heard[0][1 : 1 + len(said)] == said
    assert found.verdict is (Verdict.SENT if security == "none" else Verdict.CONNECTION)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_without_pipelining_the_first_refusal_ends_the_exchange() -> None:
    async def scenario() -> tuple[Outcome, list[list[str]]]:
        async with Scripted({"MAIL": ["400 4.0.0 later"]}) as server:
            connection = lane(server.port)
            found = await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)
            await connection.close()
        return found, server.heard

    found, heard = asyncio.run(scenario())
    assert found == Outcome(Verdict.CONNECTION, "400 4.0.0 later")
    assert heard[0][1:] == ["MAIL FROM:<w@example.com>", "QUIT"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("answers", "greeting", "timeout", "expected"),
    [
        # No round trip comes before the greeting, so a short timeout cannot fire early.
        ({}, "-", 0.02, Outcome(Verdict.CONNECTION, "no reply in time (connect)")),
        ({"MAIL": []}, "", 0.1, Outcome(Verdict.CONNECTION, "no reply in time (mail)")),
        ({".": []}, "", 0.1, Outcome(Verdict.UNCERTAIN, "no reply in time (end)")),  # it may
    ],
)
def test_silence_where_a_reply_is_due_ends_at_the_timeout(
    answers: dict[str, list[str] | None], greeting: str, timeout: float, expected: Outcome
) -> None:
    async def scenario() -> Outcome:
        async with Scripted(answers, greeting=greeting or "220 scripted ESMTP") as server:
            connection = lane(server.port, timeout=timeout)
            return await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)

    assert asyncio.run(scenario()) == expected


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_reply_line_without_a_code_counts_as_no_reply() -> None:
    async def scenario() -> Outcome:
        async with Scripted({"MAIL": ["oops"]}) as server:
            connection = lane(server.port)
            found = await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)
            await connection.close()
            return found

    assert asyncio.run(scenario()) == Outcome(Verdict.CONNECTION, "")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_reply_is_kept_as_the_server_wrote_it_even_in_another_charset() -> None:
    """Latin-1 in a reply does not stop the send; its bytes become U+FFFD and the rest of
    each line, blanks and all, is kept as the server wrote it."""
    refusal = ["550-5.1.1 Empf\udce4nger BOX", "550 5.1.1 gone "]

    async def scenario() -> Outcome:
        async with Scripted({"RCPT": refusal}) as server:
            connection = lane(server.port)
            found = await connection.deliver("w@example.com", "a@example.com", b"x\r\n", nothing)
            await connection.close()
            return found

    assert asyncio.run(scenario()) == Outcome(
        Verdict.MAILBOX, "550 5.1.1 Empf\ufffdnger BOX 5.1.1 gone "
    )
