"""Demo customers: British and American names, example.* emails, fictional phones, UK addresses."""
from __future__ import annotations

from types import MappingProxyType

import random
import string
from datetime import datetime, timedelta

FIRST_NAMES = tuple((
    "Oliver George Harry Jack Charlie Thomas Oscar William James Henry Leo Alfie Joshua Freddie "
    "Archie Arthur Theo Isaac Samuel Daniel Callum Rhys Owen Lewis Jamie Ryan Liam Connor Dylan "
    "Amelia Olivia Isla Ava Emily Sophie Grace Lily Freya Poppy Ella Evie Mia Isabella Charlotte "
    "Ruby Florence Harriet Imogen Niamh Siobhan Eilidh Megan Chloe Holly Zara Priya Aisha Fatima "
    "Amir Mohammed Yusuf Ravi Anjali Kofi Ama Tunde Chidi Wei Mei Hannah Sarah Rachel Laura Emma "
    "Michael Christopher Matthew Joshua Ethan Andrew Tyler Brandon Justin Kevin Brian Jason "
    "Ashley Jessica Jennifer Brittany Madison Kayla Taylor Morgan Hailey Courtney Lauren Megan "
    "Dakota Cody Austin Travis Chase Savannah Brooke Paige Avery Riley Jordan Casey"
).split())
LAST_NAMES = tuple((
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Ahmed Singh Hughes Edwards "
    "Lewis Harris Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason "
    "Ali Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Barker Fisher Stevens Jenkins Murray Dixon Harvey O'Brien O'Connor McDonald MacLeod Fraser "
    "Okafor Mensah Nguyen Chen Wong Kowalski Novak Garcia Martinez Rodriguez Hernandez Lopez "
    "Gonzalez Anderson Thomas Jackson Moore Sullivan Peterson Reed Brooks Hayes Ramirez Flores"
).split())
# City -> postcode areas that belong to it.
CITIES = MappingProxyType({
    "London": ("SW", "SE", "N", "E", "NW", "W"), "Manchester": ("M",), "Birmingham": ("B",),
    "Leeds": ("LS",), "Glasgow": ("G",), "Edinburgh": ("EH",), "Bristol": ("BS",),
    "Cardiff": ("CF",), "Liverpool": ("L",), "Sheffield": ("S",), "Newcastle upon Tyne": ("NE",),
    "Nottingham": ("NG",), "Leicester": ("LE",), "Brighton": ("BN",), "Oxford": ("OX",),
    "Cambridge": ("CB",), "York": ("YO",), "Norwich": ("NR",), "Exeter": ("EX",),
    "Belfast": ("BT",), "Aberdeen": ("AB",), "Bath": ("BA",), "Southampton": ("SO",),
    "Reading": ("RG",), "Swansea": ("SA",), "Plymouth": ("PL",), "Derby": ("DE",),
    "Coventry": ("CV",), "Dundee": ("DD",), "Milton Keynes": ("MK",),
})
CITY_WEIGHTS = MappingProxyType({"London": 8, "Manchester": 3, "Birmingham": 3, "Leeds": 2, "Glasgow": 2})
STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road",
    "Park Avenue", "Queens Road", "Kings Road", "Mill Lane", "Chestnut Grove", "Rowan Close",
    "Elm Drive", "Willow Way", "Albert Road", "The Crescent", "Orchard Way", "Meadow View",
    "Cedar Avenue", "Beech Road", "Holly Close", "Castle Street", "Bridge Street", "Windsor Road",
    "Grange Road", "Springfield Road", "North Street", "Mount Pleasant", "Highfield Road",
    "St John's Road", "Richmond Terrace", "Oak Tree Lane", "Ferndale Avenue", "Brookside",
)
# Postcode inward letters never use C, I, K, M, O or V.
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
DEMO_CUSTOMERS = (
    # id, first, last, email, city, street, postcode
    (1, "Alice", "Carter", "alice@example.com", "Leeds", "14 Rowan Close", "LS6 3QT"),
    (2, "Ben", "Okafor", "ben@example.com", "Bristol", "88 Albert Road", "BS2 0XS"),
    (3, "Chloe", "Nguyen", "chloe@example.com", "Manchester", "5 Chestnut Grove", "M20 2RN"),
)


def postcode(rng: random.Random, city: str) -> str:
    area = rng.choice(CITIES[city])
    district = rng.randint(1, 20 if len(area) == 2 else 30)
    inward = f"{rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    return f"{area}{district} {inward}"


def phone(rng: random.Random) -> str | None:
    """A number from Ofcom's drama ranges, which never belong to anyone; some have none."""
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.75:
        return f"07700 900{rng.randint(0, 999):03d}"
    return rng.choice(("0113 496", "0161 496", "020 7946", "0117 496", "0131 496")) + (
        f" {rng.randint(0, 999):04d}")


def _email_local(rng: random.Random, first: str, last: str) -> str:
    first, last = first.lower(), "".join(c for c in last.lower() if c in string.ascii_lowercase)
    style = rng.random()
    if style < 0.4:
        local = f"{first}.{last}"
    elif style < 0.6:
        local = f"{first[0]}{last}"
    elif style < 0.8:
        local = f"{first}{last}{rng.randint(1, 99)}"
    else:
        local = f"{first}_{last}{rng.randint(70, 2005)}"
    return local


def generate_customers(rng: random.Random, count: int, now: datetime) -> dict[str, list[dict]]:
    """``count`` customers (ids 1-3 are the demo shoppers) with one default address each."""
    customers, addresses = [], []
    emails = set()
    cities = list(CITIES)
    weights = [CITY_WEIGHTS.get(c, 1) for c in cities]
    for cid in range(1, count + 1):
        if cid <= len(DEMO_CUSTOMERS):
            _, first, last, email, city, line1, code = DEMO_CUSTOMERS[cid - 1]
            created = now - timedelta(days=700 + 50 * cid)
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = _email_local(rng, first, last)
            email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
            while email in emails:
                email = f"{local}{rng.randint(2, 9999)}@{rng.choice(EMAIL_DOMAINS)}"
            city = rng.choices(cities, weights)[0]
            line1 = f"{rng.randint(1, 240)} {rng.choice(STREETS)}"
            code = postcode(rng, city)
            # Most joined before the year of history; a fifth joined during it.
            days = rng.randint(0, 365) if rng.random() < 0.2 else rng.randint(366, 1800)
            created = now - timedelta(days=days, minutes=rng.randint(0, 1439))
        emails.add(email)
        line2 = None
        if cid > len(DEMO_CUSTOMERS) and rng.random() < 0.15:
            line1, line2 = f"Flat {rng.randint(1, 24)}", line1
        customers.append({
            "id": cid, "email": email, "first_name": first, "last_name": last,
            "phone": phone(rng) if cid > len(DEMO_CUSTOMERS) else f"07700 900{cid:03d}",
            "created_at": created, "marketing_opt_in": rng.random() < 0.45,
        })
        addresses.append({
            "id": cid, "customer_id": cid, "line1": line1, "line2": line2, "city": city,
            "postcode": code, "country": "GB", "is_default": True,
        })
    return {"customers": customers, "addresses": addresses}


def one_line_address(customer: dict, address: dict) -> str:
    parts = [f"{customer['first_name']} {customer['last_name']}", address["line1"]]
    if address["line2"]:
        parts.append(address["line2"])
    parts += [f"{address['city']} {address['postcode']}", address["country"]]
    return ", ".join(parts)
