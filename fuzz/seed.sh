#!/usr/bin/env bash
# Writes starting corpora for the fuzz targets under fuzz/corpus/<target>/ (git-ignored): a few
# well-formed inputs per target, so that libFuzzer starts past the first parse. Existing files
# are kept. The public keys below were generated for this purpose and are used nowhere else.
set -euo pipefail
cd "$(dirname "$0")"

now=$(date +%s)
exp=$((now + 120))

# seed TARGET NAME CONTENT (printf format: \xff separates the parts of a structured input)
seed() {
  mkdir -p "corpus/$1"
  [ -e "corpus/$1/$2" ] || printf "$3" >"corpus/$1/$2"
}

header='{"alg":"EdDSA","typ":"at+jwt","kid":"fuzz"}'
claims="{\"iss\":\"https://auth.test\",\"sub\":\"svc\",\"aud\":\"reports-api\",\"exp\":$exp,\"iat\":$now,\"jti\":\"1\",\"client_id\":\"svc\",\"scope\":\"reports:read\"}"
claims_odd="{\"iss\":\"https://auth.test\",\"sub\":\"svc\",\"aud\":[\"reports-api\",\"x\"],\"exp\":$exp.5,\"iat\":\"$now\",\"nbf\":$now,\"jti\":\"1\",\"client_id\":\"svc\",\"scope\":\"reports:read reports:write\"}"

# token: mode byte 0x01 = header \xff payload, signed by the harness; 0x00 = raw text.
seed token valid "\x01${header}\xff${claims}"
seed token odd-claims "\x01${header}\xff${claims_odd}"
seed token crit '\x01{"alg":"EdDSA","typ":"at+jwt","kid":"fuzz","crit":null}\xff{}'
seed token none '\x01{"alg":"none","typ":"JWT"}\xff{"iss":"https://auth.test"}'
seed token raw '\x00eyJhbGciOiJFZERTQSIsImtpZCI6ImZ1enoifQ.eyJpc3MiOiJ4In0.c2ln'

# authorization_header: mode byte 0x01 = Bearer + a token as above; 0x00 = header values
# separated by \n.
seed authorization_header signed "\x01\x01${header}\xff${claims}"
seed authorization_header bearer '\x00Bearer abc.def.ghi'
seed authorization_header two '\x00Bearer abc.def.ghi\nbearer abc.def.ghi'
seed authorization_header basic '\x00Basic c3ZjOmZ1enotc2VjcmV0'

# token_request: a flags byte (see fuzz_targets/token_request.rs), then parts.
assertion="{\"iss\":\"signer\",\"sub\":\"signer\",\"aud\":\"https://auth.test\",\"exp\":$exp,\"iat\":$now,\"jti\":\"j-$now\"}"
seed token_request basic '\x50scope=reports:read&resource=reports-api'
seed token_request post '\x40client_id=svc&client_secret=fuzz-secret&scope=reports%%3Aread'
seed token_request assertion "\xc0${assertion}\xffclient_id=signer"
seed token_request basic-encoded '\x70svc:fuzz-secret\xffscope=reports:write'
seed token_request basic-raw '\x60Basic c3ZjOmZ1enotc2VjcmV0\xffscope=reports:read'
seed token_request get '\x03grant_type=client_credentials'

# jwks: public keys of each algorithm, alone and together.
seed jwks eddsa '{"keys":[{"use":"sig","alg":"EdDSA","kid":"Z4N_WUXm1gykrf0n-bATiuYvXUhEJniuIbBrWx3dwUE","kty":"OKP","crv":"Ed25519","x":"k82zC4N6uG_Kdv9raFSfhPC0PuvBik0MLwjeGzluWJc"}]}'
seed jwks es256 '{"keys":[{"use":"sig","alg":"ES256","kid":"YpkYiSTWGqiFG83d10hB4CNjHVSzpZZBP7BkEq4oqgk","kty":"EC","crv":"P-256","x":"PtjPtDJTcnqC4HLGJ6uC_nKoQ5jHn-05K65fa0Y5F9I","y":"ssS98nTa3eBhu-Y6s9kE463Dard982xykU9VP6ujskE"}]}'
seed jwks rs256 '{"keys":[{"use":"sig","alg":"RS256","kid":"9jszVrTw-3F1YN3bX7DRMGxvu1AHeYKSL0tFuNGq0ZU","kty":"RSA","n":"knGPrmzTlgUOZUkDthG-87o7LlRKGVokl_xp8Aw7HgCpxJWCFuQ32AHVWmIkj-RzLkaDafYSRqYKayBpU5yWR0X8bOmEjn8Ff6Gk126htWzCj5frvzYEqRumd_kGrTC2ZT-jv8ZxqLhfD08uiZd_UNIFg-9EpD6TQkwKZ_JucL108oBZkhRLrHK_FhOufpdKOHByuoV1Kei8Cc6vySeTBCWp9nVscwilgDyxFjXOC44NXjtYtMrx3XjxoMadwP1BRxBR19m73Q1lO55SsXs_70PcAeR2YKicL_8fK8CwazEO1MI1vgbzKk5GF08Yh8EKoaHBSPszho9gWsO7VTX8UQ","e":"AQAB"}]}'
seed jwks ps256 '{"keys":[{"use":"sig","alg":"PS256","kid":"kujxHMK34px46yzM4AzHJD_1q6oer0R6d8YzR4NobvQ","kty":"RSA","n":"nDbn8uLzEv-cud0432Zkm-U-muprBPSfltEHeYrgQ0CQDPBfw9PpBe5tNbOeK-XfnZiL5Fhl8J2Npd38Or5hfuVLSySAA2mlj1irId2apMJIHdemUq_YOFNwnmZxdiJnAANos-WzcedluZr8nah_JG6vXgcdANIAIsC42oUDaUFKL2Ey1vtWOnht9IeQ3W5N2-shoJjqKmjE0MF3Dt0hn68yWgO21ujjQR03CxTw89VPwWUhBioPEUrBrn_Y-K5STxOHUQjWV3-LIc7ZWxBJ5JRwevFfmUGVnTYXAshm7pr7WABx9274ffjLHpXiAO71pUYXESvA8VOBNmJdvoJCUw","e":"AQAB"}]}'
seed jwks mixed '{"keys":[{"use":"sig","alg":"EdDSA","kid":"Z4N_WUXm1gykrf0n-bATiuYvXUhEJniuIbBrWx3dwUE","kty":"OKP","crv":"Ed25519","x":"k82zC4N6uG_Kdv9raFSfhPC0PuvBik0MLwjeGzluWJc"},{"use":"sig","alg":"ES256","kid":"YpkYiSTWGqiFG83d10hB4CNjHVSzpZZBP7BkEq4oqgk","kty":"EC","crv":"P-256","x":"PtjPtDJTcnqC4HLGJ6uC_nKoQ5jHn-05K65fa0Y5F9I","y":"ssS98nTa3eBhu-Y6s9kE463Dard982xykU9VP6ujskE"},{"use":"sig","alg":"RS256","kid":"9jszVrTw-3F1YN3bX7DRMGxvu1AHeYKSL0tFuNGq0ZU","kty":"RSA","n":"knGPrmzTlgUOZUkDthG-87o7LlRKGVokl_xp8Aw7HgCpxJWCFuQ32AHVWmIkj-RzLkaDafYSRqYKayBpU5yWR0X8bOmEjn8Ff6Gk126htWzCj5frvzYEqRumd_kGrTC2ZT-jv8ZxqLhfD08uiZd_UNIFg-9EpD6TQkwKZ_JucL108oBZkhRLrHK_FhOufpdKOHByuoV1Kei8Cc6vySeTBCWp9nVscwilgDyxFjXOC44NXjtYtMrx3XjxoMadwP1BRxBR19m73Q1lO55SsXs_70PcAeR2YKicL_8fK8CwazEO1MI1vgbzKk5GF08Yh8EKoaHBSPszho9gWsO7VTX8UQ","e":"AQAB"},{"use":"sig","alg":"PS256","kid":"kujxHMK34px46yzM4AzHJD_1q6oer0R6d8YzR4NobvQ","kty":"RSA","n":"nDbn8uLzEv-cud0432Zkm-U-muprBPSfltEHeYrgQ0CQDPBfw9PpBe5tNbOeK-XfnZiL5Fhl8J2Npd38Or5hfuVLSySAA2mlj1irId2apMJIHdemUq_YOFNwnmZxdiJnAANos-WzcedluZr8nah_JG6vXgcdANIAIsC42oUDaUFKL2Ey1vtWOnht9IeQ3W5N2-shoJjqKmjE0MF3Dt0hn68yWgO21ujjQR03CxTw89VPwWUhBioPEUrBrn_Y-K5STxOHUQjWV3-LIc7ZWxBJ5JRwevFfmUGVnTYXAshm7pr7WABx9274ffjLHpXiAO71pUYXESvA8VOBNmJdvoJCUw","e":"AQAB"},{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}'

# clients_toml: the demo's file, and one with every field.
mkdir -p corpus/clients_toml
[ -e corpus/clients_toml/demo ] || cp ../examples/clients.toml corpus/clients_toml/demo
seed clients_toml full '[[client]]
id = "reports-exporter"
secret_hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
auth_methods = ["client_secret_basic", "client_secret_post"]
scopes = ["reports:read", "reports:write"]
default_scopes = ["reports:read"]
audiences = ["reports-api"]
default_audience = "reports-api"
token_ttl_secs = 600
enabled = true

[[client]]
id = "billing"
auth_methods = ["private_key_jwt"]
scopes = ["invoices:read"]
audiences = ["billing-api"]
jwks = { keys = [ { kty = "OKP", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid = "billing-1" } ] }
'
echo "seeded: $(find corpus -type f | wc -l) files under fuzz/corpus/"
