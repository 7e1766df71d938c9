"""PII minimisation (LGPD): salted email hash, masked CPF, and the checks that need the raw values.

The raw values never reach Silver: validity is computed here, before masking, into boolean
columns that the Silver rules reference.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CPF_PATTERN = r"^(\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$"


def normalise_email(email: Column) -> Column:
    """Trimmed, lower-cased email (the form that is hashed)."""
    return F.lower(F.trim(email))


def email_hash(email: Column, salt: str) -> Column:
    """Hex SHA-256 of ``salt || lower(trim(email))``; NULL when the email is NULL.

    Python equivalent: ``hashlib.sha256((salt + email.strip().lower()).encode()).hexdigest()``.
    """
    return F.sha2(F.concat(F.lit(salt), normalise_email(email)), 256)


def email_is_valid(email: Column) -> Column:
    """TRUE/FALSE for a present email, NULL when absent."""
    return normalise_email(email).rlike(EMAIL_PATTERN)


def _cpf_digits(document: Column) -> Column:
    return F.regexp_replace(document, r"[^0-9]", "")


def _check_digit(digits: Column, length: int) -> Column:
    # CPF check digit over the first `length` digits with weights length+1 .. 2:
    # d = (sum * 10) mod 11, and 10 becomes 0.
    total = F.aggregate(
        F.sequence(F.lit(0), F.lit(length - 1)),
        F.lit(0),
        lambda acc, i: acc + F.substring(digits, i + 1, 1).try_cast("int") * (F.lit(length + 1) - i),
    )
    return (total * 10) % 11 % 10


def cpf_is_valid(document: Column) -> Column:
    """TRUE when ``document`` is a CPF (11 digits, formatted or not) with valid check digits and
    not a repeated digit; FALSE otherwise; NULL when absent."""
    digits = _cpf_digits(document)
    digit = lambda n: F.substring(digits, n, 1).try_cast("int")  # noqa: E731 - 1-based position
    return F.when(document.isNull(), F.lit(None).cast("boolean")).otherwise(
        F.coalesce(
            document.rlike(CPF_PATTERN)
            & ~digits.rlike(r"^(\d)\1{10}$")
            & (_check_digit(digits, 9) == digit(10))
            & (_check_digit(digits, 10) == digit(11)),
            F.lit(False),
        )
    )


def mask_cpf(document: Column) -> Column:
    """``***.456.789-**`` (only the middle six digits kept); NULL when not 11 digits."""
    digits = _cpf_digits(document)
    return F.when(
        F.length(digits) == 11,
        F.concat(
            F.lit("***."), F.substring(digits, 4, 3), F.lit("."), F.substring(digits, 7, 3), F.lit("-**")
        ),
    )
