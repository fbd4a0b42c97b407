// What the kiosk keeps in localStorage about its pairing: the clock credential, the clock's
// name and zone (shown before the first whoami answers), and whether the credential was
// revoked (the pairing screen says so after a reload).

const CREDENTIAL = "punchcard.kiosk.credential";
const CLOCK = "punchcard.kiosk.clock";
const REVOKED = "punchcard.kiosk.revoked";

export const REVOKED_TEXT =
  "This kiosk's credential was revoked — ask your administrator to pair it again";

function stored(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

export const storedCredential = () => localStorage.getItem(CREDENTIAL);
export const storedClock = () => stored(CLOCK);
/** The notice the pairing screen opens with: why the kiosk is not paired, if known. */
export const pairingNotice = () => (localStorage.getItem(REVOKED) ? REVOKED_TEXT : "");

/** What the kiosk keeps of a whoami answer. */
export function clockInfo(who) {
  // evidence_photos: the tenant keeps a photo of every punch, so PIN and card punches carry one.
  return {
    clock_id: who.clock_id,
    name: who.name,
    time_zone: who.time_zone,
    evidence_photos: who.evidence_photos === true,
  };
}

export function saveClock(info) {
  localStorage.setItem(CLOCK, JSON.stringify(info));
}

export function savePairing(credential, info) {
  saveClock(info);
  localStorage.setItem(CREDENTIAL, credential);
  localStorage.removeItem(REVOKED);
}

/** Forgets the credential; `revoked`: remembers why, for the pairing screen. */
export function forgetCredential(revoked) {
  localStorage.removeItem(CREDENTIAL);
  if (revoked) localStorage.setItem(REVOKED, "1");
}

/** "Forget this clock on this tablet" (its Administrator, in the settings): the credential
 * and the clock are forgotten; the pairing screen opens without a notice. */
export function forgetPairing() {
  localStorage.removeItem(CREDENTIAL);
  localStorage.removeItem(CLOCK);
  localStorage.removeItem(REVOKED);
}
