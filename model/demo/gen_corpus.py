#!/usr/bin/python3
"""Deterministic generator of examples/corpus: a few hundred short factual documents about an invented,
self-consistent world (countries, cities, rivers, people). Every fact is made up; nothing is taken from
third-party data. The search-QA agent answers questions from these documents; gen_data.py asks them.

    /usr/bin/python3 model/demo/gen_corpus.py [--out examples/corpus]

Each document is one .txt file: the first line is the title, then the text. world() returns the facts as
Python data so the trace generator asks questions whose answers are in the text.
"""
import argparse
import os
import random

SEED = 20260409

ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t",
          "tr", "v", "w", "z", "th", "sh", "bl", "fl", "kr", "sk"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y"]
CODAS = ["", "", "n", "r", "l", "s", "m", "th", "nd", "rk", "st", "x", "v"]
CITY_SUFFIX = ["ford", "mark", "holm", "ton", "vik", "stad", "burg", "wick", "dale", "mouth", "haven", "field",
               "by", "grad", "port", "moor", ""]
INDUSTRIES = ["glassmaking", "salt mines", "shipbuilding", "silk weaving", "clockmaking", "copper mining",
              "cheese", "paper mills", "pottery", "wine", "horse breeding", "printing", "rope making",
              "fishing", "tea gardens", "violin making", "marble quarries", "a great library", "its observatory",
              "its bridges", "bell casting", "lace", "tin mining", "its harbour"]
PROFESSIONS = ["merchant", "engineer", "painter", "astronomer", "mapmaker", "physician", "architect", "poet",
               "shipwright", "botanist", "judge", "composer", "sailor", "mathematician", "weaver", "explorer"]
SEAS = ["the Amber Sea", "the Grey Sea", "the Bay of Lorn", "the Southern Ocean", "Lake Miren", "Lake Osk",
        "the Gulf of Tarra", "the Northern Sea"]
MOUNTAINS = ["the Kell Mountains", "the Varn Hills", "the Sorrow Peaks", "the Iron Range", "the Blue Mountains",
             "the Harrow Hills", "the Mist Mountains"]

N_COUNTRIES = 10
N_CITIES = 200
N_RIVERS = 40
N_PEOPLE = 80


def _word(rng, syllables):
    w = ""
    for i in range(syllables):
        w += rng.choice(ONSETS) + rng.choice(VOWELS)
        if i == syllables - 1 or rng.random() < 0.3:
            w += rng.choice(CODAS)
    return w


class _Names:
    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def new(self, make):
        while True:
            name = make(self.rng)
            key = name.lower()
            if len(name) >= 4 and key not in self.used and " " not in key:
                self.used.add(key)
                return name

    def new_person(self, first):
        while True:
            full = first(self.rng)
            if full.lower() not in self.used:
                self.used.add(full.lower())
                return full


def world(seed=SEED):
    """The invented world as dicts: {"countries", "cities", "rivers", "people"}; lists in a fixed order."""
    rng = random.Random(seed)
    names = _Names(rng)
    countries = []
    for _ in range(N_COUNTRIES):
        name = names.new(lambda r: (_word(r, 2) + r.choice(["ia", "land", "or", "an", "ica", ""])).capitalize())
        countries.append({"name": name})
    rivers = []
    for _ in range(N_RIVERS):
        name = names.new(lambda r: _word(r, r.choice([1, 2])).capitalize())
        rivers.append({"name": name, "length_km": rng.randint(40, 2900), "source": rng.choice(MOUNTAINS),
                       "mouth": rng.choice(SEAS), "cities": []})
    people = []
    firsts = [names.new(lambda r: _word(r, 2).capitalize()) for _ in range(60)]
    lasts = [names.new(lambda r: _word(r, 2).capitalize()) for _ in range(60)]
    for _ in range(N_PEOPLE):
        full = names.new_person(lambda r: r.choice(firsts) + " " + r.choice(lasts))
        people.append({"name": full, "profession": rng.choice(PROFESSIONS), "cities_founded": []})
    cities = []
    for i in range(N_CITIES):
        name = names.new(lambda r: (_word(r, r.choice([1, 2])) + r.choice(CITY_SUFFIX)).capitalize())
        founded = rng.randint(820, 1890)
        founder = people[rng.randrange(N_PEOPLE)]
        river = rivers[rng.randrange(N_RIVERS)]
        city = {"name": name, "country": rng.choice(countries)["name"], "population": rng.randint(800, 2_400_000),
                "founded": founded, "founder": founder["name"], "river": river["name"],
                "known_for": rng.choice(INDUSTRIES)}
        cities.append(city)
        river["cities"].append(name)
        founder["cities_founded"].append(city)
    for p in people:
        if p["cities_founded"]:
            first = min(c["founded"] for c in p["cities_founded"])
            p["born"] = first - rng.randint(22, 60)
        else:
            p["born"] = rng.randint(790, 1880)
        p["birthplace"] = rng.choice(cities)["name"]
    return {"countries": countries, "cities": cities, "rivers": rivers, "people": people}


def population_text(n):
    return f"{n:,}"


def documents(w):
    """[(filename, title, text)] for every document, in a fixed order."""
    docs = []
    for c in w["cities"]:
        text = (f"{c['name']} is a city in {c['country']}. It lies on the {c['river']} river and has a population "
                f"of {population_text(c['population'])}. {c['name']} was founded in {c['founded']} by "
                f"{c['founder']}. The city is known for {c['known_for']}.")
        docs.append((f"city_{c['name'].lower()}.txt", c["name"], text))
    for r in w["rivers"]:
        through = r["cities"]
        if not through:
            flows = "No large city lies on its banks."
        elif len(through) == 1:
            flows = f"It flows through {through[0]}."
        else:
            shown = through[:4]
            flows = "It flows through " + ", ".join(shown[:-1]) + " and " + shown[-1] + "."
        text = (f"The {r['name']} is a river {r['length_km']} km long. It rises in {r['source']} and flows into "
                f"{r['mouth']}. {flows}")
        docs.append((f"river_{r['name'].lower()}.txt", f"{r['name']} (river)", text))
    for p in w["people"]:
        founded = p["cities_founded"]
        if founded:
            deeds = "; ".join(f"{c['name']} in {c['founded']}" for c in sorted(founded, key=lambda c: c["founded"])[:3])
            did = f" {p['name'].split()[0]} founded {deeds}."
        else:
            did = ""
        text = f"{p['name']} was a {p['profession']} born in {p['born']} in {p['birthplace']}.{did}"
        docs.append((f"person_{p['name'].lower().replace(' ', '_')}.txt", p["name"], text))
    for co in w["countries"]:
        cities = [c for c in w["cities"] if c["country"] == co["name"]]
        biggest = max(cities, key=lambda c: c["population"]) if cities else None
        text = f"{co['name']} is a country with {len(cities)} cities in this collection."
        if biggest:
            text += f" Its largest city is {biggest['name']}."
        docs.append((f"country_{co['name'].lower()}.txt", co["name"], text))
    return docs


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "examples", "corpus"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".txt"):
            os.remove(os.path.join(args.out, f))
    docs = documents(world())
    for fname, title, text in docs:
        with open(os.path.join(args.out, fname), "w", encoding="utf-8") as f:
            f.write(title + "\n" + text + "\n")
    print(f"wrote {len(docs)} documents to {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
