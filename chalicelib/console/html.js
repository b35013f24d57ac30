// The console's one view toolkit: Preact's h() bound to htm tagged templates, plus the hooks it uses.
import htm from "./vendor/htm.js";
import { h, render } from "./vendor/preact.js";

export const html = htm.bind(h);
export { render };
export { useCallback, useEffect, useMemo, useRef, useState } from "./vendor/hooks.js";
