import { z } from 'zod';

/**
 * The parts of a modal submission's `view.state.values` force-down's inputs
 * produce (`values[blockId][actionId]`): a select's option(s), a text
 * input's value. Anything else is ignored; the validators of each modal
 * (fence, evacuation, bulk) read their inputs from it and never throw.
 */
const modalValuesSchema = z.record(
  z.string(),
  z.record(
    z.string(),
    z.looseObject({
      type: z.string().optional(),
      selected_option: z.looseObject({ value: z.string() }).nullish(),
      selected_options: z.array(z.looseObject({ value: z.string() })).nullish(),
      value: z.string().nullish(),
    }),
  ),
);

export type ModalValues = z.infer<typeof modalValuesSchema>;

/** A submission's values as force-down's inputs give them; `{}` for anything unreadable. */
export function readModalValues(values: unknown): ModalValues {
  const parsed = modalValuesSchema.safeParse(values ?? {});
  return parsed.success ? parsed.data : {};
}
