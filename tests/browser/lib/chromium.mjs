// How every browser script here starts Debian's Chromium: headless, as root, and without the
// background connections this machine's closed network would refuse.
export const CHROMIUM = process.env.FERRO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
