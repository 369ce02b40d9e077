<?php
// Test driver: reads {certificate, jwks, domain, now} as JSON on stdin, verifies with the
// shipped class, and prints {"ok": true, "allowed": {...}} or {"ok": false, "reason": ...}.
declare(strict_types=1);

require __DIR__ . '/../../../clients/php/LicenseCertificate.php';

$input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
try {
    $allowed = LicenseCertificate::verify(
        $input['certificate'],
        $input['jwks'],
        $input['domain'],
        $input['now'] ?? null
    );
    echo json_encode(['ok' => true, 'allowed' => $allowed]), "\n";
} catch (LicenseCertificateException $error) {
    echo json_encode(['ok' => false, 'reason' => $error->reason, 'message' => $error->getMessage()]), "\n";
}
