"""The simulated store's product catalog: SKU, name (pt-BR), price range in BRL, popularity weight."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from orders_lakehouse.simulator.brazil import brl


@dataclass(frozen=True)
class Product:
    """One product the store sells; the price of an order line is drawn inside [low, high]."""

    sku: str
    name: str
    low: Decimal
    high: Decimal
    weight: int

    def price(self, rng: random.Random) -> Decimal:
        """A price inside the product's range, in centavos, ending in .90 or .99 like shop prices."""
        whole = rng.randint(int(self.low), int(self.high))
        return brl(f"{whole}.{rng.choice(('90', '99', '00'))}")


PRODUCTS: tuple[Product, ...] = tuple(
    Product(sku, name, Decimal(low), Decimal(high), weight)
    for sku, name, low, high, weight in (
        ("ELE-0001", "Smartphone Galaxy A55 128GB", "1599", "2299", 6),
        ("ELE-0002", "Fone de ouvido Bluetooth", "79", "249", 10),
        ("ELE-0003", "Smart TV 50\" 4K", "2199", "3199", 3),
        ("ELE-0004", "Notebook 15\" Core i5 16GB", "3299", "4599", 2),
        ("ELE-0005", "Carregador turbo USB-C", "39", "119", 12),
        ("ELE-0006", "Caixa de som portátil", "149", "499", 5),
        ("CAS-0001", "Air fryer 4L", "299", "549", 7),
        ("CAS-0002", "Cafeteira expresso", "399", "899", 3),
        ("CAS-0003", "Jogo de panelas antiaderente", "199", "449", 4),
        ("CAS-0004", "Liquidificador 1200W", "149", "299", 5),
        ("CAS-0005", "Jogo de toalhas de banho", "59", "149", 6),
        ("MOD-0001", "Tênis de corrida", "199", "599", 8),
        ("MOD-0002", "Camiseta de algodão", "39", "99", 14),
        ("MOD-0003", "Calça jeans", "99", "249", 7),
        ("MOD-0004", "Mochila executiva", "129", "349", 4),
        ("BEL-0001", "Perfume 100ml", "149", "499", 5),
        ("BEL-0002", "Kit skincare", "79", "229", 6),
        ("LIV-0001", "Livro: Dom Casmurro", "19", "49", 6),
        ("LIV-0002", "Livro: Grande Sertão: Veredas", "49", "99", 3),
        ("BRI-0001", "Quebra-cabeça 1000 peças", "49", "129", 3),
        ("BRI-0002", "Boneca articulada", "79", "199", 3),
        ("ESP-0001", "Bola de futebol oficial", "99", "249", 4),
        ("ESP-0002", "Camisa de time oficial", "249", "399", 5),
        ("MER-0001", "Café em grãos 1kg", "49", "119", 8),
        ("MER-0002", "Azeite extra virgem 500ml", "29", "69", 6),
        ("PET-0001", "Ração premium 10kg", "149", "289", 5),
        ("FER-0001", "Furadeira de impacto", "199", "449", 2),
    )
)


def random_product(rng: random.Random) -> Product:
    """A product, more popular ones more often."""
    return rng.choices(PRODUCTS, weights=[p.weight for p in PRODUCTS])[0]
