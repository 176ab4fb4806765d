// Crystal classes of the report schema and their stable names (report.json, truth files, CLI).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace polscan {

enum class CrystalClass {
  CPPD,
  MSU,
  CaOxMonohydrate,
  CaOxDihydrate,
  UricAcid,
  Cholesterol,
  NonBirefringent,
  Artefact,
  Unknown,
};

inline constexpr std::array<CrystalClass, 9> kAllCrystalClasses = {
    CrystalClass::CPPD,
    CrystalClass::MSU,
    CrystalClass::CaOxMonohydrate,
    CrystalClass::CaOxDihydrate,
    CrystalClass::UricAcid,
    CrystalClass::Cholesterol,
    CrystalClass::NonBirefringent,
    CrystalClass::Artefact,
    CrystalClass::Unknown,
};

// The name used in report.json and ground-truth files; stable, part of the schema.
constexpr std::string_view crystalClassName(CrystalClass c) {
  switch (c) {
    case CrystalClass::CPPD:
      return "CPPD";
    case CrystalClass::MSU:
      return "MSU";
    case CrystalClass::CaOxMonohydrate:
      return "CaOx-monohydrate";
    case CrystalClass::CaOxDihydrate:
      return "CaOx-dihydrate";
    case CrystalClass::UricAcid:
      return "uric-acid";
    case CrystalClass::Cholesterol:
      return "cholesterol";
    case CrystalClass::NonBirefringent:
      return "non-birefringent";
    case CrystalClass::Artefact:
      return "artefact";
    case CrystalClass::Unknown:
      return "unknown";
  }
  return "unknown";
}

constexpr std::optional<CrystalClass> crystalClassFromName(std::string_view name) {
  for (CrystalClass c : kAllCrystalClasses) {
    if (crystalClassName(c) == name) return c;
  }
  return std::nullopt;
}

// Sign of elongation: slow axis along the long axis (positive) or across it (negative).
enum class Elongation { Positive, Negative, None };

constexpr std::string_view elongationName(Elongation e) {
  switch (e) {
    case Elongation::Positive:
      return "positive";
    case Elongation::Negative:
      return "negative";
    case Elongation::None:
      return "none";
  }
  return "none";
}

}  // namespace polscan
