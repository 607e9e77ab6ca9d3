/**
 * One region named in serverless.yml for every provider. `provider.region` is one provider's region name
 * (`eu-west-1` is AWS's); a provider for which it is not a region of its own reads it through this table, which
 * pairs each AWS region with the Azure and the Google Cloud region of the same area: for each area, each
 * provider's main region there (AWS eu-west-1, Azure westeurope and Google europe-west1 for western Europe), not
 * the nearest datacenter. `--region` and a provider's own setting (`custom.polycloud.google.region`) are taken as
 * they are. The table is the README's "One region for every provider".
 */

/** A provider that names regions, and the names of one area in each. */
export type RegionProvider = 'aws' | 'azure' | 'google'

export interface RegionArea {
  readonly area: string
  readonly aws: string
  readonly azure: string
  readonly google: string
}

export const REGION_AREAS: readonly RegionArea[] = [
  { area: 'US East (Virginia)', aws: 'us-east-1', azure: 'eastus', google: 'us-east4' },
  { area: 'US East (Ohio)', aws: 'us-east-2', azure: 'eastus2', google: 'us-east5' },
  { area: 'US West (California)', aws: 'us-west-1', azure: 'westus', google: 'us-west2' },
  { area: 'US West (Oregon)', aws: 'us-west-2', azure: 'westus2', google: 'us-west1' },
  { area: 'Canada', aws: 'ca-central-1', azure: 'canadacentral', google: 'northamerica-northeast1' },
  { area: 'South America (São Paulo)', aws: 'sa-east-1', azure: 'brazilsouth', google: 'southamerica-east1' },
  { area: 'Western Europe', aws: 'eu-west-1', azure: 'westeurope', google: 'europe-west1' },
  { area: 'United Kingdom', aws: 'eu-west-2', azure: 'uksouth', google: 'europe-west2' },
  { area: 'France', aws: 'eu-west-3', azure: 'francecentral', google: 'europe-west9' },
  { area: 'Germany', aws: 'eu-central-1', azure: 'germanywestcentral', google: 'europe-west3' },
  { area: 'Switzerland', aws: 'eu-central-2', azure: 'switzerlandnorth', google: 'europe-west6' },
  { area: 'Northern Europe (Sweden)', aws: 'eu-north-1', azure: 'swedencentral', google: 'europe-north2' },
  { area: 'Italy', aws: 'eu-south-1', azure: 'italynorth', google: 'europe-west8' },
  { area: 'Spain', aws: 'eu-south-2', azure: 'spaincentral', google: 'europe-southwest1' },
  { area: 'Japan (Tokyo)', aws: 'ap-northeast-1', azure: 'japaneast', google: 'asia-northeast1' },
  { area: 'Korea', aws: 'ap-northeast-2', azure: 'koreacentral', google: 'asia-northeast3' },
  { area: 'Japan (Osaka)', aws: 'ap-northeast-3', azure: 'japanwest', google: 'asia-northeast2' },
  { area: 'Southeast Asia (Singapore)', aws: 'ap-southeast-1', azure: 'southeastasia', google: 'asia-southeast1' },
  { area: 'Australia', aws: 'ap-southeast-2', azure: 'australiaeast', google: 'australia-southeast1' },
  { area: 'Indonesia', aws: 'ap-southeast-3', azure: 'indonesiacentral', google: 'asia-southeast2' },
  { area: 'India', aws: 'ap-south-1', azure: 'centralindia', google: 'asia-south1' },
  { area: 'Hong Kong', aws: 'ap-east-1', azure: 'eastasia', google: 'asia-east2' },
  { area: 'Middle East', aws: 'me-central-1', azure: 'uaenorth', google: 'me-central1' },
  { area: 'Israel', aws: 'il-central-1', azure: 'israelcentral', google: 'me-west1' },
  { area: 'Africa', aws: 'af-south-1', azure: 'southafricanorth', google: 'africa-south1' },
]

const PROVIDERS: readonly RegionProvider[] = ['aws', 'azure', 'google']

/**
 * The region `provider` uses for a region named for any provider: the name itself when `isOwn` says it is one of
 * `provider`'s, else the region of the same area (with the provider whose name it was), else undefined.
 */
export function regionFor(provider: RegionProvider, name: string, isOwn: (name: string) => boolean): { readonly region: string; readonly from?: RegionProvider } | undefined {
  if (isOwn(name)) return { region: name }
  for (const area of REGION_AREAS) {
    const from = PROVIDERS.find((other) => other !== provider && area[other] === name)
    if (from !== undefined) return { region: area[provider], from }
  }
  return undefined
}

const TITLES: Readonly<Record<RegionProvider, string>> = { aws: 'AWS', azure: 'Azure', google: 'Google Cloud' }

/** `provider.region eu-west-1 is an AWS region: Google Cloud uses europe-west1, its region of the same area (Western Europe)`. */
export function mappedRegionNote(provider: RegionProvider, name: string, mapped: { readonly region: string; readonly from?: RegionProvider }): string | undefined {
  if (mapped.from === undefined) return undefined
  const area = REGION_AREAS.find((candidate) => candidate[provider] === mapped.region)?.area
  return `provider.region ${name} is ${/^[AEIOU]/.test(TITLES[mapped.from]) ? 'an' : 'a'} ${TITLES[mapped.from]} region: ${TITLES[provider]} uses ${mapped.region}, its region of the same area${area ? ` (${area})` : ''}`
}
