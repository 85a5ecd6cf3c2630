#include "trust_options.hpp"

namespace bpfsign::cli {

void add_trust_options(CLI::App* command, verify::TrustFiles& files) {
  command->add_option("--cert", files.certificates, "Trusted signer certificate(s): PEM (one or more) or DER")->allow_extra_args(false);
  command->add_option("--ca", files.authorities, "Trusted CA certificate(s): the signer must chain to one (PEM, one or more, or DER)")->allow_extra_args(false);
  command->add_option("--chain", files.intermediates, "Intermediate CA certificates for --ca (PEM, one or more)")->allow_extra_args(false);
  command->add_option("--revoked", files.revoked, "Revoked signers: certificates (PEM) or hex key ids, one per line");
  command->add_flag("--allow-expired-signer", files.allow_expired,
                    "Accept a signer certificate outside its validity (verifying an archive); said in the report");
}

}  // namespace bpfsign::cli
