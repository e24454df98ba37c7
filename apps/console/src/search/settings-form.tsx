import { searchModes } from '@rag/contracts/public-api';
import { FilterBuilder } from './filter-builder.js';
import type { SearchSettings } from './search-settings.js';

/** The controls of one playground column. */
export function SettingsForm({
  settings,
  onChange,
  label,
}: {
  settings: SearchSettings;
  onChange: (settings: SearchSettings) => void;
  label: string;
}) {
  const id = (name: string) => `${label}-${name}`;
  const set = (change: Partial<SearchSettings>) => onChange({ ...settings, ...change });
  const hybrid = settings.mode === 'hybrid';
  return (
    <fieldset class="settings" data-testid={`settings-${label}`}>
      <legend>Settings {label}</legend>
      <div class="grid-2">
        <label>
          Mode
          <select
            id={id('mode')}
            value={settings.mode}
            onChange={(event) => set({ mode: event.currentTarget.value as SearchSettings['mode'] })}
          >
            {searchModes.map((mode) => (
              <option key={mode} value={mode}>
                {mode}
              </option>
            ))}
          </select>
        </label>
        <label>
          Fusion
          <select
            id={id('fusion')}
            value={settings.fusion}
            disabled={!hybrid}
            onChange={(event) => set({ fusion: event.currentTarget.value as SearchSettings['fusion'] })}
          >
            <option value="weighted">weighted (min-max)</option>
            <option value="rrf">reciprocal rank (RRF)</option>
          </select>
        </label>
        <label>
          Re-rank
          <select
            id={id('rerank')}
            value={settings.rerank}
            onChange={(event) => set({ rerank: event.currentTarget.value as SearchSettings['rerank'] })}
          >
            <option value="none">none</option>
            <option value="colbert">ColBERT</option>
          </select>
        </label>
        <label>
          top_k
          <input
            id={id('top-k')}
            type="number"
            min={1}
            max={100}
            value={settings.topK}
            onInput={(event) => set({ topK: Number(event.currentTarget.value) || 1 })}
          />
        </label>
      </div>
      <label class="check">
        <input
          type="checkbox"
          checked={settings.groupByDocument}
          onChange={(event) => set({ groupByDocument: event.currentTarget.checked })}
        />
        one result per document
      </label>
      <label class="check">
        <input
          type="checkbox"
          disabled={!hybrid}
          checked={settings.customWeights}
          onChange={(event) => set({ customWeights: event.currentTarget.checked })}
        />
        my own fusion weights
      </label>
      {hybrid && settings.customWeights && (
        <div class="weights">
          {(['dense', 'sparse', 'bm25'] as const).map((signal) => (
            <label key={signal}>
              {signal} <output>{settings.weights[signal].toFixed(2)}</output>
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={settings.weights[signal]}
                onInput={(event) =>
                  set({ weights: { ...settings.weights, [signal]: Number(event.currentTarget.value) } })
                }
              />
            </label>
          ))}
        </div>
      )}
      <FilterBuilder draft={settings.filter} idPrefix={id('filter')} onChange={(filter) => set({ filter })} />
    </fieldset>
  );
}
