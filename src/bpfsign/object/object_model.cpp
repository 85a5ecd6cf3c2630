#include "bpfsign/object/object_model.hpp"

namespace bpfsign::object {

const char* map_origin_name(MapOrigin origin) {
  switch (origin) {
    case MapOrigin::BtfDefined: return "btf";
    case MapOrigin::Legacy: return "legacy";
    case MapOrigin::Data: return "data";
    case MapOrigin::Rodata: return "rodata";
    case MapOrigin::Bss: return "bss";
    case MapOrigin::Kconfig: return "kconfig";
  }
  return "unknown";
}

const char* extern_kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::Kconfig: return "kconfig";
    case ExternKind::Ksym: return "ksym";
    case ExternKind::Kfunc: return "kfunc";
  }
  return "unknown";
}

const char* kconfig_type_name(KconfigType type) {
  switch (type) {
    case KconfigType::None: return "none";
    case KconfigType::Bool: return "bool";
    case KconfigType::Char: return "char";
    case KconfigType::Int: return "int";
    case KconfigType::Tristate: return "tristate";
    case KconfigType::CharArray: return "char_array";
  }
  return "unknown";
}

bool kconfig_size_fits(KconfigType type, std::uint32_t size) {
  switch (type) {
    case KconfigType::None: return false;
    case KconfigType::Bool:
    case KconfigType::Char: return size == 1;
    case KconfigType::Int: return size == 1 || size == 2 || size == 4 || size == 8;
    case KconfigType::Tristate: return size == 4;
    case KconfigType::CharArray: return size >= 1;
  }
  return false;
}

KconfigSource kconfig_source(std::string_view name) {
  if (name.starts_with("CONFIG_")) return KconfigSource::Config;
  if (name == "LINUX_KERNEL_VERSION") return KconfigSource::KernelVersion;
  if (name == "LINUX_HAS_BPF_COOKIE") return KconfigSource::HasBpfCookie;
  if (name == "LINUX_HAS_SYSCALL_WRAPPER") return KconfigSource::HasSyscallWrapper;
  if (name.starts_with("LINUX_")) return KconfigSource::UnknownLinux;
  return KconfigSource::Unrecognized;
}

const char* reloc_kind_name(RelocKind kind) {
  switch (kind) {
    case RelocKind::MapFd: return "map_fd";
    case RelocKind::MapValue: return "map_value";
    case RelocKind::SubprogCall: return "subprog_call";
    case RelocKind::SubprogAddr: return "subprog_addr";
    case RelocKind::KfuncCall: return "kfunc_call";
    case RelocKind::KsymAddr: return "ksym_addr";
    case RelocKind::KconfigValue: return "kconfig_value";
  }
  return "unknown";
}

}  // namespace bpfsign::object
