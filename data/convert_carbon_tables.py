#!/usr/bin/env python3
"""Converts CodeCarbon's grid carbon-intensity data into the two tables wattlab
ships and compiles into its energy library (src/wattlab/energy/CMakeLists.txt):

  data/carbon_intensity_countries.csv  iso_alpha3,country,g_co2e_per_kwh,year
  data/carbon_intensity_cloud.csv      provider,region,g_co2e_per_kwh,country_alpha3,location

Usage: python3 data/convert_carbon_tables.py [SOURCE_DIR]
SOURCE_DIR defaults to ../shared/data/codecarbon (global_energy_mix.json and
cloud_impact.csv, as in CodeCarbon's codecarbon/data/). Deterministic: rows
sorted, numbers written as in the source.
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data", "codecarbon")

LICENCE = ("# CodeCarbon (https://github.com/mlco2/codecarbon), MIT License: Copyright (c) 2019 Mila, BCG Gamma,\n"
           "# CometML, Haverford College; Copyright (c) 2023 Code Carbon NGO.\n")

# Source spellings corrected here (the source kept as is otherwise).
CLOUD_REGION_FIXES = {("gcp", "me-cenrtal1"): "me-central1"}


def number(value):
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def countries():
    with open(os.path.join(SOURCE, "global_energy_mix.json"), encoding="utf-8") as f:
        mix = json.load(f)
    out_path = os.path.join(HERE, "carbon_intensity_countries.csv")
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        out.write("# Grid carbon intensity of electricity per country (ISO 3166-1 alpha-3), gCO2e/kWh.\n"
                  "# Source: CodeCarbon codecarbon/data/private_infra/global_energy_mix.json (carbon_intensity,\n"
                  "# country_name, year), itself from Our World in Data's energy data\n"
                  "# (https://github.com/owid/energy-data), CC BY 4.0.\n" + LICENCE +
                  "# Converted by data/convert_carbon_tables.py; do not edit by hand.\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["iso_alpha3", "country", "g_co2e_per_kwh", "year"])
        for code in sorted(mix):
            row = mix[code]
            if row.get("carbon_intensity") is None:
                continue
            writer.writerow([code, row["country_name"], number(row["carbon_intensity"]), row.get("year", "")])


def cloud():
    with open(os.path.join(SOURCE, "cloud_impact.csv"), encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    out_path = os.path.join(HERE, "carbon_intensity_cloud.csv")
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        out.write("# Grid carbon intensity per cloud region, gCO2e/kWh (the provider's own figures, e.g.\n"
                  "# https://cloud.google.com/sustainability/region-carbon).\n"
                  "# Source: CodeCarbon codecarbon/data/cloud/impact.csv (provider, region, impact,\n"
                  "# countryIsoCode, city or state); \"me-cenrtal1\" corrected to \"me-central1\".\n" + LICENCE +
                  "# Converted by data/convert_carbon_tables.py; do not edit by hand.\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["provider", "region", "g_co2e_per_kwh", "country_alpha3", "location"])
        keyed = []
        for row in rows:
            if not row["impact"].strip():
                continue
            provider = row["provider"].strip().lower()
            region = row["region"].strip()
            region = CLOUD_REGION_FIXES.get((provider, region), region)
            location = row["city"].strip() or row["state"].strip() or row["country_name"].strip()
            keyed.append((provider, region, number(row["impact"]), row["countryIsoCode"].strip(), location))
        for row in sorted(keyed):
            writer.writerow(row)


if __name__ == "__main__":
    countries()
    cloud()
