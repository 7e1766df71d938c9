"""Brazilian reference data for the simulator: states (UF) with cities, CPFs, names, money in BRL.

Kept as plain data so the simulator needs no extra package; weights roughly follow where
Brazilian e-commerce orders come from (São Paulo first, then the South-East and South).
"""

from __future__ import annotations

import random
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

# UF -> (relative weight, cities). Every one of the 27 federative units is present, so any UF
# the contract accepts can appear.
STATES: dict[str, tuple[int, tuple[str, ...]]] = {
    "SP": (34, ("São Paulo", "Campinas", "Santos", "Ribeirão Preto", "Sorocaba", "São José dos Campos")),
    "RJ": (12, ("Rio de Janeiro", "Niterói", "Duque de Caxias", "Nova Iguaçu", "Petrópolis")),
    "MG": (11, ("Belo Horizonte", "Uberlândia", "Contagem", "Juiz de Fora", "Montes Claros")),
    "RS": (6, ("Porto Alegre", "Caxias do Sul", "Pelotas", "Canoas", "Santa Maria")),
    "PR": (6, ("Curitiba", "Londrina", "Maringá", "Ponta Grossa", "Cascavel")),
    "SC": (4, ("Florianópolis", "Joinville", "Blumenau", "Chapecó")),
    "BA": (4, ("Salvador", "Feira de Santana", "Vitória da Conquista", "Ilhéus")),
    "DF": (3, ("Brasília",)),
    "GO": (2, ("Goiânia", "Anápolis", "Aparecida de Goiânia")),
    "PE": (3, ("Recife", "Olinda", "Jaboatão dos Guararapes", "Caruaru")),
    "CE": (2, ("Fortaleza", "Caucaia", "Juazeiro do Norte")),
    "ES": (2, ("Vitória", "Vila Velha", "Serra")),
    "PA": (1, ("Belém", "Ananindeua", "Santarém")),
    "MT": (1, ("Cuiabá", "Várzea Grande", "Rondonópolis")),
    "MS": (1, ("Campo Grande", "Dourados")),
    "AM": (1, ("Manaus",)),
    "MA": (1, ("São Luís", "Imperatriz")),
    "PB": (1, ("João Pessoa", "Campina Grande")),
    "RN": (1, ("Natal", "Mossoró")),
    "AL": (1, ("Maceió", "Arapiraca")),
    "PI": (1, ("Teresina", "Parnaíba")),
    "SE": (1, ("Aracaju",)),
    "RO": (1, ("Porto Velho", "Ji-Paraná")),
    "TO": (1, ("Palmas", "Araguaína")),
    "AC": (1, ("Rio Branco",)),
    "AP": (1, ("Macapá",)),
    "RR": (1, ("Boa Vista",)),
}

FIRST_NAMES = (
    "Ana", "Maria", "Juliana", "Fernanda", "Beatriz", "Camila", "Larissa", "Patrícia", "Aline", "Letícia",
    "João", "José", "Pedro", "Lucas", "Gabriel", "Rafael", "Mateus", "Gustavo", "Felipe", "Thiago",
)
LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Araújo", "Barbosa", "Rocha", "Dias",
)
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br", "bol.com.br")
CARRIERS = ("Correios SEDEX", "Correios PAC", "Jadlog", "Loggi", "Total Express", "Azul Cargo")

CENT = Decimal("0.01")


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF whose first nine digits are ``first_nine``.

    Receita Federal's rule: weights 10..2 over the 9 digits (then 11..2 over the 10), remainder
    of the sum ×10 by 11, and 10 becomes 0.

    >>> cpf_check_digits("529982247")
    '25'
    """
    digits = [int(c) for c in first_nine]
    for _ in range(2):
        weight = len(digits) + 1
        total = sum(d * (weight - i) for i, d in enumerate(digits))
        digits.append(total * 10 % 11 % 10)
    return f"{digits[-2]}{digits[-1]}"


def cpf_is_valid(document: str) -> bool:
    """True when ``document`` (11 digits, formatted or not) is a CPF with valid check digits.

    Eleven repeated digits ("111.111.111-11") pass the arithmetic but are invalid by rule.
    """
    digits = "".join(c for c in document if c.isdigit())
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    return cpf_check_digits(digits[:9]) == digits[9:]


def format_cpf(digits: str) -> str:
    """``52998224725`` → ``529.982.247-25``."""
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def random_cpf(rng: random.Random, *, formatted: bool | None = None) -> str:
    """A CPF with valid check digits; formatted or bare (chosen by ``rng`` when ``formatted`` is None)."""
    while True:
        first_nine = "".join(str(rng.randrange(10)) for _ in range(9))
        if len(set(first_nine)) > 1:  # 000000000-00 style CPFs are invalid by rule
            break
    digits = first_nine + cpf_check_digits(first_nine)
    if formatted is None:
        formatted = rng.random() < 0.5
    return format_cpf(digits) if formatted else digits


def random_location(rng: random.Random) -> tuple[str, str]:
    """A (UF, city) pair, weighted by where orders come from."""
    states = list(STATES)
    uf = rng.choices(states, weights=[STATES[s][0] for s in states])[0]
    return uf, rng.choice(STATES[uf][1])


def random_person(rng: random.Random) -> tuple[str, str]:
    """A (full name, e-mail) pair; the e-mail is derived from the name, without accents."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower()
    return f"{first} {last}", f"{plain}{rng.randrange(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"


def brl(value: Decimal | float | str) -> Decimal:
    """Round to centavos, half up (how BRL prices are shown)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
