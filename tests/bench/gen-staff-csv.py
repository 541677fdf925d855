#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate a large HR export for the benchmark (same columns as contrib/example/staff.csv).

    gen-staff-csv.py N [--seed S] [--change-percent P] > staff.csv

N people spread over three facilities (North surgical, South and East clinics)
with realistic role and group mixes. The output depends only on N, S and P.
With --change-percent P the same population (same N and seed) comes out with
P% of the people changed: a new family name, a new email, other groups (a new
role or permission level), another site (a move), a few removed, and as many
new people added at the end as were removed.

Fast on purpose (about a million rows in a few seconds): one 64-bit random
draw per row, sliced into table indexes, and no CSV quoting (the tables hold
no comma, quote or newline; that is checked at start).
"""

import argparse
import os
import random
import sys

DOMAIN = "health.example.org"
HEADER = "employee_id,first_name,last_name,email,groups,site,speciality,status\n"
TABLE_BITS = 12                  # profile, name and speciality tables: 4096 entries
TABLE_SIZE = 1 << TABLE_BITS
MASK = TABLE_SIZE - 1
FLAG_BITS = 10                   # a yes/no draw: 10 random bits below share * 1024
FLAG_MASK = (1 << FLAG_BITS) - 1

NO_EMAIL = round(0.02 * (1 << FLAG_BITS))        # 2%: staff records without login
INACTIVE = round(0.005 * (1 << FLAG_BITS))       # 0.5%: disabled in HR, never created
NO_SPECIALITY = round(0.002 * (1 << FLAG_BITS))  # 0.2% of doctors: held, a realistic few
CHUNK_ROWS = 8192                # rows joined per write

# (weight, [(native, ascii)...] given names, [(native, ascii)...] family names)
CULTURES = [
    (40, "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
         "Barbara Richard Susan Thomas Sarah Daniel Karen Matthew Emily Andrew Rachel "
         "Olivia Liam Noah Emma Grace Henry Charlotte Samuel Hannah Benjamin",
     "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Moore Martin "
     "Jackson Thompson White Harris Clark Lewis Walker Hall Young King Wright Scott Green "
     "Baker Adams Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans "
     "Edwards Collins Stewart Morris Cook Rogers Morgan Cooper Reed Bailey Bell Howard"),
    (4, "Siobhán:siobhan Seán:sean Aoife Niamh Ciarán:ciaran Róisín:roisin",
     "O'Brien:obrien O'Connor:oconnor O'Sullivan:osullivan O'Neill:oneill Byrne Gallagher"),
    (10, "José:jose María:maria Lucía:lucia Javier Sofía:sofia Andrés:andres Inés:ines "
         "Raúl:raul João:joao Gonçalo:goncalo",
     "García:garcia Fernández:fernandez Martínez:martinez López:lopez Sánchez:sanchez "
     "Pérez:perez Gómez:gomez Núñez:nunez Muñoz:munoz Álvarez:alvarez Araújo:araujo"),
    (7, "Zoë:zoe Chloé:chloe Hélène:helene Amélie:amelie Léa:lea François:francois "
        "Jérôme:jerome Benoît:benoit",
     "Lefèvre:lefevre Dubois Moreau Girard Bérubé:berube Rousseau Fontaine Côté:cote"),
    (6, "Jürgen:jurgen Jörg:jorg Käthe:kathe Lena Anja Matthias Stefan",
     "Müller:muller Schröder:schroder Groß:gross Weiß:weiss Schäfer:schafer Hoffmann Krüger:kruger"),
    (5, "Søren:soren Bjørn:bjorn Åsa:asa Sigrid Ingrid Mikkel Freja",
     "Sørensen:sorensen Ødegård:odegard Kjær:kjaer Jørgensen:jorgensen Lindqvist Nyström:nystrom"),
    (5, "Łukasz:lukasz Małgorzata:malgorzata Agnieszka Paweł:pawel Katarzyna Wojciech",
     "Nowak Wójcik:wojcik Kowalczyk Mazur Krawczyk Zając:zajac Wróbel:wrobel Żak:zak"),
    (3, "Ayşe:ayse Mehmet Elif Çağlar:caglar Şule:sule Oğuz:oguz",
     "Yılmaz:yilmaz Çelik:celik Şahin:sahin Öztürk:ozturk Doğan:dogan Aydın:aydin"),
    (5, "Lan Minh Hương:huong Thảo:thao Tuấn:tuan Phương:phuong Quang",
     "Nguyễn:nguyen Trần:tran Lê:le Phạm:pham Hoàng:hoang Vũ:vu Đặng:dang Bùi:bui"),
    (6, "Priya Arjun Ananya Rahul Deepa Vikram Kavya",
     "Sharma Patel Iyer Gupta Reddy Nair Menon"),
    (2, "Δημήτρης:dimitris Ελένη:eleni Γιώργος:giorgos Κατερίνα:katerina",
     "Παπαδόπουλος:papadopoulos Γεωργίου:georgiou Οικονόμου:oikonomou"),
    (2, "Анна:anna Дмитро:dmytro Ольга:olha Сергій:serhii",
     "Шевченко:shevchenko Коваленко:kovalenko Бондаренко:bondarenko Ткаченко:tkachenko"),
    (3, "芳:fang 伟:wei 秀英:xiuying 静:jing 磊:lei 由紀:yuki 健太:kenta 지우:jiwoo 민준:minjun",
     "王:wang 李:li 张:zhang 刘:liu 佐藤:sato 鈴木:suzuki 김:kim 박:park"),
    (2, "فاطمة:fatima أحمد:ahmed ليلى:layla يوسف:youssef",
     "الحسن:alhassan حداد:haddad منصور:mansour خوري:khoury"),
]

SPECIALITIES = {
    "surgical": "General Surgery|Orthopaedic Surgery|Vascular Surgery|Neurosurgery|"
                "Plastic Surgery|Cardiothoracic Surgery|Urology|Otorhinolaryngology",
    "anesthesia": "Anesthesiology",
    "clinic": "Cardiology|Dermatology|Endocrinology|Family Medicine|Gastroenterology|"
              "Internal Medicine|Neurology|Obstetrics & Gynaecology|Ophthalmology|"
              "Paediatrics|Psychiatry|Pulmonology|Rheumatology",
}

# facility: (share, staff group, [(site value, share)], [(role group, share,
#            speciality pool, coordinator share, facility-admin share)])
FACILITIES = [
    ("north", 0.45, "north-staff", [("North", 0.75), ("N", 0.20), ("north", 0.05)],
     [("surgeons", 0.18, "surgical", 0.05, 0.0),
      ("anesthesiologists", 0.10, "anesthesia", 0.05, 0.0),
      ("nurses", 0.45, None, 0.12, 0.0),
      ("surgical-techs", 0.18, None, 0.04, 0.0),
      ("admins", 0.09, None, 0.30, 0.05)]),
    ("south", 0.30, "south-staff", [("South", 1.0)],
     [("physicians", 0.53, "clinic", 0.05, 0.0),
      ("physicians;surgeons", 0.02, "surgical", 0.05, 0.0),   # clinic doctors who operate
      ("lab", 0.22, None, 0.05, 0.0),
      ("pharmacy", 0.12, None, 0.05, 0.0),
      ("admins", 0.11, None, 0.30, 0.05)]),
    ("east", 0.25, "east-staff", [("East", 1.0)],
     [("physicians", 0.55, "clinic", 0.05, 0.0),
      ("lab", 0.22, None, 0.05, 0.0),
      ("pharmacy", 0.12, None, 0.05, 0.0),
      ("admins", 0.11, None, 0.30, 0.05)]),
]
ON_CALL_GROUPS = ("surgeons", "anesthesiologists", "nurses", "physicians")
ON_CALL_SHARE = 0.2

# Kinds of change in a --change-percent variant, with their shares.
CHANGE_KINDS = [("name", 0.30), ("email", 0.20), ("groups", 0.25), ("site", 0.15),
                ("removed", 0.10)]


def parse_names(text):
    names = []
    for word in text.split():
        native, _, plain = word.partition(":")
        names.append((native, plain or native.lower()))
    return names


def weighted_table(items, size=TABLE_SIZE):
    """A list of size entries where each item fills a share given by its weight."""
    total = sum(w for _, w in items)
    table, acc = [], 0.0
    for item, weight in items:
        acc += weight
        while len(table) < round(acc / total * size):
            table.append(item)
    return table


def name_tables():
    """Given and family name tables; a row picks both from the same culture."""
    culture = weighted_table([(i, c[0]) for i, c in enumerate(CULTURES)])
    givens = [parse_names(c[1]) for c in CULTURES]
    families = [parse_names(c[2]) for c in CULTURES]
    # Entry j: culture[j]; given and family chosen by a second index inside it.
    return culture, givens, families


def profiles():
    """Profiles (groups field, site value, speciality pool, facility) with weights."""
    out = []
    for facility, share, staff_group, sites, roles in FACILITIES:
        for site, site_share in sites:
            for group, role_share, pool, coord, fadmin in roles:
                on_call = ON_CALL_SHARE if group.split(";")[0] in ON_CALL_GROUPS else 0.0
                for extra, extra_share in (("", 1.0 - coord - fadmin),
                                           (";coordinators", coord),
                                           (";facility-admins", fadmin)):
                    for call, call_share in (("", 1.0 - on_call), (";on-call", on_call)):
                        weight = share * site_share * role_share * extra_share * call_share
                        if weight > 0:
                            groups = f"{group}{extra}{call};{staff_group};all-staff"
                            out.append(((groups, site, pool, facility), weight))
    return out


def check_unquoted(strings):
    for s in strings:
        if any(c in s for c in ',"\n\r'):
            raise SystemExit(f"gen-staff-csv: {s!r} would need CSV quoting")


class Population:
    """Row i of the base population is a function of (seed, i) alone."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        weighted = profiles()
        self.profiles = weighted_table(weighted)
        self.by_facility = {}
        for profile in self.profiles:
            self.by_facility.setdefault(profile[3], []).append(profile)
        self.facility_of = {(p[0], p[1]): p[3] for p in self.profiles}
        self.culture, self.givens, self.families = name_tables()
        self.specialities = {pool: (SPECIALITIES[pool].split("|") * TABLE_SIZE)[:TABLE_SIZE]
                             for pool in SPECIALITIES}
        self.speciality_sets = {pool: set(v) for pool, v in self.specialities.items()}
        check_unquoted([p[0] for p in self.profiles] + [p[1] for p in self.profiles]
                       + [n for names in self.givens + self.families for pair in names
                          for n in pair]
                       + [s for pool in self.specialities.values() for s in pool])

    def draw(self, rng, i):
        """One person as a list of fields (employee id first), from one 96-bit draw:
        bits 0-11 profile, 12-23 culture, 24-31 given name, 32-39 family name,
        40-49 no email, 50-59 no speciality, 60-71 speciality, 72-81 inactive."""
        r = rng.getrandbits(96)
        groups, site, pool, _ = self.profiles[r & MASK]
        c = self.culture[(r >> 12) & MASK]
        givens, families = self.givens[c], self.families[c]
        given = givens[((r >> 24) & 0xFF) % len(givens)]
        family = families[((r >> 32) & 0xFF) % len(families)]
        email = "" if ((r >> 40) & FLAG_MASK) < NO_EMAIL else \
            f"{given[1]}.{family[1]}.{i}@{DOMAIN}"
        speciality = ""
        if pool and ((r >> 50) & FLAG_MASK) >= NO_SPECIALITY:
            speciality = self.specialities[pool][(r >> 60) & MASK]
        status = "inactive" if ((r >> 72) & FLAG_MASK) < INACTIVE else "active"
        return [f"E{i:07d}", given[0], family[0], email, groups, site, speciality, status]


def plan_changes(n, percent, seed):
    """{row index: change kind} for exactly round(n * percent / 100) people, and
    how many people to add."""
    rng = random.Random(seed * 7919 + 17)
    count = round(n * percent / 100.0)
    chosen = rng.sample(range(n), count) if count else []
    kinds = weighted_table([(k, w) for k, w in CHANGE_KINDS], size=1000)
    changes = {i: kinds[rng.randrange(1000)] for i in chosen}
    removed = sum(1 for k in changes.values() if k == "removed")
    return changes, removed, rng


def apply_change(pop, rng, kind, fields, i):
    if kind == "name":
        c = pop.culture[rng.getrandbits(TABLE_BITS)]
        fields[2] = rng.choice(pop.families[c])[0]
    elif kind == "email":                    # a new address, or a first one
        local = fields[3].split("@")[0] or f"staff.{i}"
        fields[3] = f"{local}@mail.{DOMAIN}"
    elif kind in ("groups", "site"):
        facility = pop.facility_of[(fields[4], fields[5])]
        if kind == "groups":                 # another role or permission level, same place
            choices = pop.by_facility[facility]
            profile = rng.choice(choices)
            while profile[0] == fields[4]:
                profile = rng.choice(choices)
        else:                                # another facility: a move
            other = rng.choice([f for f in pop.by_facility if f != facility])
            profile = rng.choice(pop.by_facility[other])
        groups, site, pool, _ = profile
        fields[4], fields[5] = groups, site
        if not pool:
            fields[6] = ""
        elif fields[6] not in pop.speciality_sets[pool]:
            fields[6] = rng.choice(pop.specialities[pool])
    return fields


def generate(n, seed, percent, out):
    pop = Population(seed)
    changes, removed, change_rng = plan_changes(n, percent, seed) if percent else ({}, 0, None)
    out.write(HEADER.encode())
    draw, rng = pop.draw, pop.rng
    chunk = []
    for i in range(n):
        fields = draw(rng, i)
        kind = changes.get(i)
        if kind is not None:
            if kind == "removed":
                continue
            fields = apply_change(pop, change_rng, kind, fields, i)
        chunk.append(",".join(fields))
        if len(chunk) >= CHUNK_ROWS:
            out.write(("\n".join(chunk) + "\n").encode())
            chunk = []
    for i in range(n, n + removed):           # new hires, as many as the leavers
        chunk.append(",".join(draw(change_rng, i)))
    if chunk:
        out.write(("\n".join(chunk) + "\n").encode())
    return changes, removed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of people")
    parser.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    parser.add_argument("--change-percent", type=float, default=0.0, metavar="P",
                        help="change P%% of the people (default 0: the base population)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say on stderr what was changed")
    args = parser.parse_args()
    if args.count < 0 or not 0 <= args.change_percent <= 100:
        parser.error("count must be >= 0 and --change-percent within 0..100")
    try:
        changes, added = generate(args.count, args.seed, args.change_percent, sys.stdout.buffer)
        sys.stdout.flush()
    except BrokenPipeError:                  # | head: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    if args.verbose:
        kinds = {}
        for kind in changes.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        print(f"gen-staff-csv: {args.count} people, changed {len(changes)} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), added {added}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
