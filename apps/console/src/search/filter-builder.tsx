import { type FilterDraft, type FilterOperator, filterOperators, operatorLabels } from './filter-model.js';

/** Rows of metadata conditions joined by all/any; the JSON it makes is shown with the request. */
export function FilterBuilder({
  draft,
  onChange,
  idPrefix,
}: {
  draft: FilterDraft;
  onChange: (draft: FilterDraft) => void;
  idPrefix: string;
}) {
  const setRow = (index: number, change: Partial<FilterDraft['rows'][number]>) =>
    onChange({ ...draft, rows: draft.rows.map((row, i) => (i === index ? { ...row, ...change } : row)) });
  return (
    <fieldset class="filter-builder">
      <legend>Metadata filter</legend>
      {draft.rows.length > 1 && (
        <label>
          Match{' '}
          <select
            value={draft.join}
            onChange={(event) => onChange({ ...draft, join: event.currentTarget.value as 'and' | 'or' })}
          >
            <option value="and">all conditions</option>
            <option value="or">any condition</option>
          </select>
        </label>
      )}
      {draft.rows.map((row, index) => (
        <div class="filter-row" key={index} data-testid="filter-row">
          <label>
            <span class="visually-hidden">Field {index + 1}</span>
            <input
              id={`${idPrefix}-field-${index}`}
              placeholder="field"
              value={row.field}
              onInput={(event) => setRow(index, { field: event.currentTarget.value })}
            />
          </label>
          <label>
            <span class="visually-hidden">Operator {index + 1}</span>
            <select
              value={row.operator}
              onChange={(event) => setRow(index, { operator: event.currentTarget.value as FilterOperator })}
            >
              {filterOperators.map((op) => (
                <option key={op} value={op}>
                  {operatorLabels[op]}
                </option>
              ))}
            </select>
          </label>
          {row.operator !== 'exists' && row.operator !== 'missing' && (
            <label>
              <span class="visually-hidden">Value {index + 1}</span>
              <input
                placeholder={row.operator === 'in' ? 'a, b, c' : 'value'}
                value={row.value}
                onInput={(event) => setRow(index, { value: event.currentTarget.value })}
              />
            </label>
          )}
          <button
            type="button"
            class="secondary"
            onClick={() => onChange({ ...draft, rows: draft.rows.filter((_, i) => i !== index) })}
          >
            Remove<span class="visually-hidden"> condition {index + 1}</span>
          </button>
        </div>
      ))}
      <button
        type="button"
        class="secondary"
        onClick={() =>
          onChange({ ...draft, rows: [...draft.rows, { field: '', operator: 'eq', value: '' }] })
        }
      >
        Add condition
      </button>
    </fieldset>
  );
}
