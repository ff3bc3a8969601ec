// Cold-init probe: zod alone.
export { z } from 'zod';
