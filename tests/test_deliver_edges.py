"""Delivery paths the main tests do not reach: status of an issue never sent, DKIM keys that
are missing or too weak, `weekly dkim record` without [dkim], replies outside SMTP's classes,
a loopback relay named `localhost`, and List-Unsubscribe without a mailto."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from weekly.audience.subscriber_list import ListReport
from weekly.config import DeliverySettings
from weekly.deliver.backends import check_settings
from weekly.deliver.backends.smtp import is_loopback, password
from weekly.deliver.consent_watch import ConsentWatch
from weekly.deliver.dispatcher import Tally
from weekly.deliver.dkim_keys import load_private_key
from weekly.deliver.outcomes import Stage, Verdict, classify
from weekly.deliver.plan import Plan, SendOptions
from weekly.deliver.send import Summary
from weekly.errors import WeeklyError
from weekly.store.consent import BOUNCED, CONFIRMED, UNSUBSCRIBED

from .conftest import DKIM_SECTION, drop_lines
from .smtp import Recorder, configure, smtp_server, write_list
from .test_audience import log


def test_status_of_an_issue_never_sent(ready: Path, run_weekly, store: str) -> None:
    never = f"Error: issue 324 has not been sent from {ready.resolve()}\n"
    assert run_weekly("status", "324").output == never  # no ledger at all
    write_list(ready, ["kim@example.com,,subscribed,"])
    with smtp_server(Recorder()) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
    other = run_weekly("status", "323")  # a ledger, but not for this issue
    assert (other.exit_code, other.output) == (
        1,
        f"Error: issue 323 has not been sent from {ready.resolve()}\n",
    )
    listed = run_weekly("status", "324", "--failed")
    assert listed.output.count("\n") == 1  # the CSV header: nothing failed


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "key",
    [
        pem(ec.generate_private_key(ec.SECP256R1())),
        pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
    ],
    ids=["not RSA", "1024 bits"],
)
def test_a_dkim_key_must_be_rsa_of_2048_bits(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "dkim.pem"
    path.write_bytes(key)
    with pytest.raises(WeeklyError, match="must be RSA of at least 2048 bits"):
        load_private_key(path)


def test_a_missing_dkim_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(WeeklyError, match=r"dkim.pem: cannot read the DKIM key: No such file"):
        load_private_key(tmp_path / "dkim.pem")


def test_dkim_record_without_dkim_settings(newsletter: Path, run_weekly) -> None:
    result = run_weekly("dkim", "record")
    assert result.exit_code == 1
    assert "set [dkim] domain, selector and key_file first" in result.output
    with (newsletter / "weekly.toml").open("a", encoding="utf-8") as toml:
        toml.write(DKIM_SECTION)
    assert run_weekly("dkim", "keygen").exit_code == 0
    assert "v=DKIM1; k=rsa; p=" in run_weekly("dkim", "record").output


@pytest.mark.parametrize("code", [199, 600, 999])
def test_a_reply_outside_smtp_classes_trusts_the_link_no_further(code: int) -> None:
    assert classify(Stage.RCPT, code, "odd") is Verdict.CONNECTION


def test_localhost_is_loopback() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.1")
    assert is_loopback("LocalHost.") and is_loopback("::1") and is_loopback("127.8.9.10")
    assert not is_loopback("192.0.2.1") and not is_loopback(".localhost")
    assert not is_loopback("localhost.example.com") and not is_loopback("localhost ")


def test_plain_smtp_off_this_machine_and_a_login_without_its_password_say_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = DeliverySettings(host="smtp.example.com", security="none", username="kim")
    with pytest.raises(WeeklyError) as plain:
        check_settings(remote, insecure=False)
    assert str(plain.value) == (
        "delivery.security is none but smtp.example.com is not this machine: "
        "use starttls or tls, or pass --insecure"
    )
    check_settings(remote, insecure=True)  # the editor's --insecure
    monkeypatch.delenv("WEEKLY_SMTP_PASSWORD", raising=False)
    with pytest.raises(WeeklyError) as login:
        password(remote)
    assert str(login.value) == "delivery.username is set but WEEKLY_SMTP_PASSWORD is not"
    monkeypatch.setenv("WEEKLY_SMTP_PASSWORD", "s3cret")
    assert password(remote) == "s3cret" and password(DeliverySettings()) is None


def test_without_a_mailto_list_unsubscribe_has_only_the_link(
    ready: Path, run_weekly, store: str
) -> None:
    drop_lines(ready / "weekly.toml", "mailto =")
    write_list(ready, ["kim@example.com,,subscribed,"])
    recorder = Recorder()
    with smtp_server(recorder) as port:
        configure(ready, port)
        assert run_weekly("send", "324", "--yes").exit_code == 0
    header = str(recorder.parsed()["kim@example.com"]["List-Unsubscribe"])
    assert header.startswith("<https://") and "mailto:" not in header


@pytest.mark.parametrize(("code", "verdict"), [(250, Verdict.SENT), (251, Verdict.SENT)])
def test_both_positive_replies_to_the_data_mean_sent(code: int, verdict: Verdict) -> None:
    assert classify(Stage.END, code, "2.1.5 will forward") is verdict


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_consent_watch_hears_each_opt_out_once(newsletter: Path, store: str) -> None:
    """A send's watch over the subscription log: a log that appears after it began is read
    from its start, only suppressions count, and each event is heard once."""
    watch = ConsentWatch(newsletter)
    try:
        assert watch.poll() == set()  # no log yet
        log(
            newsletter,
            ("Left@Example.com", UNSUBSCRIBED, "2026-01-10T00:00:00+00:00"),
            ("new@example.com", CONFIRMED, "2026-01-10T00:00:00+00:00"),
        )
        assert watch.poll() == {"left@example.com"}
        assert watch.poll() == set()
        log(
            newsletter,
            ("new@example.com", BOUNCED, "2026-01-11T00:00:00+00:00"),
            ("left@example.com", CONFIRMED, "2026-01-12T00:00:00+00:00"),
        )
        assert watch.poll() == {"new@example.com"}
    finally:
        watch.close()


def test_the_send_summary_says_what_happened_line_by_line() -> None:
    tally = Tally(sent=90, failed_mailbox=1, failed_temporary=2, uncertain=1, opted_out=3)
    tally.slowed, tally.left_pending, tally.halted = 4, 5, "the daily cap is reached"
    tally.failures = [("a@example.com", "failed_permanent", "550 5.1.1 no such mailbox")]
    summary = Summary(tally, skipped=7, uncertain_before=2, seconds=4.0, number=324)
    assert list(summary.lines()) == [
        "Sent 90, failed 3 (1 mailbox, 0 message, 2 temporary), uncertain 3, skipped 7, "
        "opted out during the send 3 in 4.0 s (22.5 messages/s)",
        "Stopped: the daily cap is reached; 5 left pending, run the same command once it is fixed",
        "Slowed:   the relay dropped or deferred the connection 4 times; "
        "each halved the pace for everyone for a while",
        "  failed_permanent: a@example.com: 550 5.1.1 no such mailbox",
        "List every failure with: weekly status 324 --failed",
    ]
    tally = Tally(sent=1, left_pending=2, fenced=True, halted="ignored")
    assert list(Summary(tally, 0, 0, 0.0, 323).lines()) == [
        "Sent 1, failed 0 (0 mailbox, 0 message, 0 temporary), uncertain 0, skipped 0, "
        "opted out during the send 0 in 0.0 s (0.0 messages/s)",
        "Stopped: this sender's lease ran out (store.lease_seconds) and another sender took "
        "over its rows; the 2 it still held are free for the others",
    ]
    only_uncertain = Summary(Tally(sent=2, uncertain=1), 0, 0, 0.5, 323)
    assert list(only_uncertain.lines()) == [
        "Sent 2, failed 0 (0 mailbox, 0 message, 0 temporary), uncertain 1, skipped 0, "
        "opted out during the send 0 in 0.5 s (4.0 messages/s)",
        "List every failure with: weekly status 323 --failed",
    ]
    interrupted = Summary(Tally(left_pending=4), 0, 0, 1.0, 323)
    assert list(interrupted.lines())[1:] == [
        "Interrupted: 4 left pending; run the same command to go on"
    ]


def test_the_plan_shows_every_line_it_has() -> None:
    report = ListReport(Path("subscribers.csv"))
    report.by_status.update({"subscribed": 1204, "unsubscribed": 3, "bounced": 2})
    report.duplicate_count, report.smtputf8 = 4, 2
    plan = Plan(
        number=324,
        subject="제목",
        source="subscribers.csv",
        relay="127.0.0.1:1025 (none)",
        to_send=1,
        report=report,
        unfilled=("company", "team"),
        suppressed=5,
        signups=6,
        segment="ai",
        segment_origin="--segment",
        earlier=["", "ai"],
    )
    plan.matched.update({True: 1000, False: 210})
    plan.by_state.update({"sent": 1200, "failed_permanent": 1, "sending": 7})
    assert list(plan.lines()) == [
        "Issue:    #324 제목",
        "List:     subscribers.csv",
        "Relay:    127.0.0.1:1025 (none)",
        "Rows:     1,204 subscribed, 5 not subscribed, 4 duplicate",
        "Audience: 5 unsubscribed, bounced or complained since, 6 web sign-ups not in the list",
        "Warning:  2 addresses have a non-ASCII part before @: only a relay that offers SMTPUTF8 "
        "takes them",
        "Segment:  ai (--segment)",
        "Matches:  1,000 of 1,210 readers",
        "Earlier:  this issue went to everyone, then ai; every reader gets it once, so only "
        "those not yet mailed are sent it now",
        "Skipped:  1 already failed permanent",
        "Skipped:  1,200 already sent",
        "Uncertain: 7 may have been delivered by an interrupted run; left alone "
        "(--resend-uncertain to send anyway)",
        "Warning:  %%company%% is in the issue but not in the list; it will be empty",
        "Warning:  %%team%% is in the issue but not in the list; it will be empty",
        "To send:  1 message",
    ]
    assert plan.skipped == 1201
    bare = Plan(number=1, subject="s", source="l", relay="r", earlier=["ai"], segment="ai")
    assert list(bare.lines())[3:] == [
        "Segment:  ai ()",
        "Matches:  0 of 0 readers",
        "To send:  0 messages",
    ]


@pytest.mark.parametrize(
    ("state", "plain", "retry", "resend"),
    [
        (None, True, True, True),
        ("pending", True, True, True),
        ("retrying", True, True, True),
        ("sending", False, False, True),
        ("failed_temporary", False, True, False),
        ("failed_permanent", False, False, False),
        ("sent", False, False, False),
        ("opted_out", False, False, False),
    ],
)
def test_which_rows_a_send_mails(state: str | None, plain: bool, retry: bool, resend: bool) -> None:
    for options, expected in (
        (SendOptions(), plain),
        (SendOptions(retry_failed=True), retry),
        (SendOptions(resend_uncertain=True), resend),
    ):
        assert options.eligible(state) is expected
        assert (state in options.claimable()) is (expected and state is not None)
        plan = Plan(number=1, subject="s", source="l", relay="r")
        assert plan.count(state, options) is expected
        assert (plan.to_send, sum(plan.by_state.values())) == ((1, 0) if expected else (0, 1))
