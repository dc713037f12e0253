"""Delivery paths the main tests do not reach: status of an issue never sent, DKIM keys that
are missing or too weak, `weekly dkim record` without [dkim], replies outside SMTP's classes,
a loopback relay named `localhost`, and List-Unsubscribe without a mailto."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from weekly.deliver.backends.smtp import is_loopback
from weekly.deliver.dkim_keys import load_private_key
from weekly.deliver.outcomes import Stage, Verdict, classify
from weekly.errors import WeeklyError

from .conftest import DKIM_SECTION, drop_lines
from .smtp import Recorder, configure, smtp_server, write_list


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
    assert not is_loopback("192.0.2.1")


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
