<?php
/**
 * Verifies a license certificate offline: a JWT (JWS compact) signed with EdDSA over Ed25519,
 * checked against the service's published JWK Set (GET /.well-known/jwks.json).
 *
 * Needs only PHP's bundled sodium extension. Uses intl's idn_to_ascii for a non-ASCII domain
 * when intl is installed; without it, pass the domain in its ASCII (xn--) form.
 *
 *   $allowed = LicenseCertificate::verify($certificate, $jwks, 'shop.example.com');
 *   $allowed['edition'], $allowed['updates_until'], $allowed['newest_allowed_release']
 *
 * Every failure throws LicenseCertificateException; its `reason` is one of MALFORMED,
 * KEY_UNKNOWN, SIGNATURE_INVALID, ISSUER_MISMATCH, EXPIRED, DOMAIN_MISMATCH,
 * DOMAIN_UNSUPPORTED.
 */

declare(strict_types=1);

final class LicenseCertificateException extends RuntimeException
{
    public function __construct(public readonly string $reason, string $message)
    {
        parent::__construct("$reason: $message");
    }
}

final class LicenseCertificate
{
    /**
     * @param string       $certificate the certificate as the service gave it
     * @param array|string $jwks        the published JWK Set, decoded or as JSON
     * @param string       $domain      this shop's domain (a URL is reduced to its host)
     * @param int|null     $now         the current Unix time (default: time())
     * @return array{license_key: string, domain: string, edition: string,
     *               support_until: string, updates_until: string,
     *               newest_allowed_release: ?string, expires_at: int, kid: string}
     */
    public static function verify(
        string $certificate,
        array|string $jwks,
        string $domain,
        ?int $now = null,
        string $issuer = 'licensing'
    ): array {
        $parts = explode('.', trim($certificate));
        if (count($parts) !== 3) {
            throw new LicenseCertificateException('MALFORMED', 'not a JWS compact string');
        }
        $header = self::json(self::base64url($parts[0]));
        if (($header['alg'] ?? null) !== 'EdDSA' || !is_string($header['kid'] ?? null)) {
            throw new LicenseCertificateException('MALFORMED', 'the header must name EdDSA and a kid');
        }
        // RFC 7515 §4.1.11: a `crit` header lists extensions that must be understood; this
        // verifier understands none, so any `crit` makes the certificate unusable.
        if (array_key_exists('crit', $header)) {
            throw new LicenseCertificateException('MALFORMED', 'the header has crit extensions this verifier does not understand');
        }
        $publicKey = self::publicKey(is_string($jwks) ? self::json($jwks) : $jwks, $header['kid']);
        $signature = self::base64url($parts[2]);
        if (strlen($signature) !== SODIUM_CRYPTO_SIGN_BYTES
            || !sodium_crypto_sign_verify_detached($signature, "$parts[0].$parts[1]", $publicKey)) {
            throw new LicenseCertificateException('SIGNATURE_INVALID', 'the signature does not verify');
        }
        $claims = self::json(self::base64url($parts[1]));
        self::checkClaims($claims, $issuer, $now ?? time());
        if (self::normalizeDomain($domain) !== $claims['domain']) {
            throw new LicenseCertificateException('DOMAIN_MISMATCH', 'the certificate is for another domain');
        }
        return [
            'license_key' => $claims['sub'],
            'domain' => $claims['domain'],
            'edition' => $claims['edition'],
            'support_until' => $claims['support_until'],
            'updates_until' => $claims['updates_until'],
            'newest_allowed_release' => $claims['newest_allowed_release'] ?? null,
            'expires_at' => $claims['exp'],
            'kid' => $header['kid'],
        ];
    }

    /** The service's domain normalisation (D3): host of a URL, lower case, IDNA ASCII,
     *  no trailing dot, leading "www." labels removed while two labels remain. */
    public static function normalizeDomain(string $domain): string
    {
        $host = trim($domain);
        if (preg_match('~^[A-Za-z][A-Za-z0-9+.-]*://|[/?#@:\[\]]~', $host)) {
            $url = preg_match('~^[A-Za-z][A-Za-z0-9+.-]*://~', $host) ? $host : "//$host";
            $host = (string) (parse_url($url, PHP_URL_HOST) ?? '');
        }
        if (preg_match('/[^\x00-\x7F]/', $host)) {
            if (!function_exists('idn_to_ascii')) {
                throw new LicenseCertificateException(
                    'DOMAIN_UNSUPPORTED',
                    'a non-ASCII domain needs the intl extension; pass its xn-- form instead'
                );
            }
            $ascii = idn_to_ascii($host, IDNA_NONTRANSITIONAL_TO_ASCII, INTL_IDNA_VARIANT_UTS46);
            $host = $ascii === false ? '' : $ascii;
        }
        $labels = explode('.', strtr($host, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'));
        if (count($labels) > 1 && end($labels) === '') {
            array_pop($labels);
        }
        while ($labels[0] === 'www' && count($labels) > 2) {
            array_shift($labels);
        }
        return implode('.', $labels);
    }

    private static function publicKey(array $jwks, string $kid): string
    {
        foreach ($jwks['keys'] ?? [] as $jwk) {
            if (is_array($jwk) && ($jwk['kid'] ?? null) === $kid
                && ($jwk['kty'] ?? null) === 'OKP' && ($jwk['crv'] ?? null) === 'Ed25519') {
                $key = self::base64url((string) ($jwk['x'] ?? ''));
                if (strlen($key) === SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES) {
                    return $key;
                }
            }
        }
        throw new LicenseCertificateException('KEY_UNKNOWN', "no published Ed25519 key has kid $kid");
    }

    private static function checkClaims(array $claims, string $issuer, int $now): void
    {
        foreach (['sub', 'domain', 'edition', 'support_until', 'updates_until'] as $name) {
            if (!is_string($claims[$name] ?? null)) {
                throw new LicenseCertificateException('MALFORMED', "the claim $name is missing");
            }
        }
        if (($claims['iss'] ?? null) !== $issuer) {
            throw new LicenseCertificateException('ISSUER_MISMATCH', 'another issuer signed it');
        }
        if (!is_int($claims['exp'] ?? null)) {
            throw new LicenseCertificateException('MALFORMED', 'the claim exp is missing');
        }
        if ($now >= $claims['exp']) {
            throw new LicenseCertificateException('EXPIRED', 'the certificate has expired; fetch a new one');
        }
    }

    private static function base64url(string $text): string
    {
        $bytes = preg_match('/^[A-Za-z0-9_-]*$/', $text)
            ? base64_decode(strtr($text, '-_', '+/'), true) : false;
        if ($bytes === false) {
            throw new LicenseCertificateException('MALFORMED', 'not base64url');
        }
        return $bytes;
    }

    private static function json(string $text): array
    {
        $value = json_decode($text, true);
        if (!is_array($value)) {
            throw new LicenseCertificateException('MALFORMED', 'not a JSON object');
        }
        return $value;
    }
}
