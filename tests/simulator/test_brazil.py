"""Brazilian data: CPF check digits, UF and cities, money."""

import random
import re
from decimal import Decimal

import pytest

from orders_lakehouse.simulator import brazil

CONTRACT_CPF = re.compile(r"^(\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$")


def test_cpf_check_digits_of_a_known_cpf() -> None:
    # 529.982.247-25 is the usual documentation example of a valid CPF.
    assert brazil.cpf_check_digits("529982247") == "25"
    assert brazil.cpf_check_digits("111444777") == "35"


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        ("529.982.247-25", True),
        ("52998224725", True),
        ("111.444.777-35", True),
        ("529.982.247-26", False),  # second check digit wrong
        ("529.982.247-15", False),  # first check digit wrong
        ("111.111.111-11", False),  # repeated digits pass the arithmetic, invalid by rule
        ("5299822472", False),  # 10 digits
        ("", False),
    ],
)
def test_cpf_is_valid(document: str, valid: bool) -> None:
    assert brazil.cpf_is_valid(document) is valid


def test_random_cpfs_are_valid_and_match_the_contract_pattern() -> None:
    rng = random.Random(3)
    cpfs = [brazil.random_cpf(rng) for _ in range(2000)]
    assert all(brazil.cpf_is_valid(cpf) for cpf in cpfs)
    assert all(CONTRACT_CPF.match(cpf) for cpf in cpfs)
    formatted = sum("." in cpf for cpf in cpfs)
    assert 0 < formatted < 2000  # both spellings the contract allows appear
    assert len(set(cpfs)) == 2000


def test_every_uf_has_cities_and_locations_are_weighted() -> None:
    assert len(brazil.STATES) == 27
    rng = random.Random(5)
    states = [brazil.random_location(rng)[0] for _ in range(5000)]
    assert max(set(states), key=states.count) == "SP"
    for uf, city in (brazil.random_location(rng) for _ in range(200)):
        assert city in brazil.STATES[uf][1]


def test_brl_rounds_half_up_to_centavos() -> None:
    assert brazil.brl("10.005") == Decimal("10.01")
    assert brazil.brl(1.5) == Decimal("1.50")
